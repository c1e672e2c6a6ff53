"""A small real collection for the TUI tests (pilot, snapshots, tmux)."""

from __future__ import annotations

from pathlib import Path

WEEK1 = r"""---
deck: DL
week: 1
topic: basics
---

# Gradients

Q: What does $\nabla f(x)$ represent for $f:\mathbb{R}^{n} \to \mathbb{R}$? <!-- id: grad1 -->
A: The vector of partial derivatives $\frac{\partial f}{\partial x_i}$; it points uphill.

```check
diff(x**2, x) == 2*x
```

C: Softmax is invariant to {{c1::adding a constant}} to all {{c2::logits::inputs}}. <!-- id: soft1 -->

## Code

Q: What does this evaluate to? <!-- id: code1 -->
```torch
torch.ones(2, 3).shape
```
A: `torch.Size([2, 3])`
"""

WEEK2 = r"""---
deck: DL
week: 2
topic: attention
requires: [basics]
---

# Attention

Q: What shape are the scores $QK^\top$ for $Q, K$ of shape $(B, T, d_k)$? <!-- id: attn1 -->
A: $(B, T, T)$, scaled by $\frac{1}{\sqrt{d_k}}$.
"""

NOW = "2026-01-05T09:00:00Z"


def make_collection(root: Path) -> Path:
    (root / "decks").mkdir(parents=True, exist_ok=True)
    (root / "decks" / "week-01.md").write_text(WEEK1, encoding="utf-8")
    (root / "decks" / "week-02.md").write_text(WEEK2, encoding="utf-8")
    (root / "dlcards.toml").write_text(
        '[dlcards]\ntimezone = "UTC"\nfuzz = false\n', encoding="utf-8"
    )
    return root
