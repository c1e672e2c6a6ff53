import sys


def run() -> None:
    if sys.argv[1:2] == ["list"] or sys.argv[3:4] == ["list"]:  # the plain table, without click
        from dlcards.cli.list_plain import run as plain

        status = plain(sys.argv[1:])
        if status is not None:
            sys.exit(status)
    from dlcards.cli.main import main

    sys.exit(main())


if __name__ == "__main__":
    run()
