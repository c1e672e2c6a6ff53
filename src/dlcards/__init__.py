"""dlcards: spaced-repetition flashcards for learning deep learning."""

__version__ = "0.1.0"
