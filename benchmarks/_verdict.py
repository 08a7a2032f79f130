"""The exit status every benchmark script ends with (asv-style: answers first, then speed)."""

from __future__ import annotations


def verdict(answers_ok: bool, targets_met: bool, strict: bool) -> int:
    """Print the verdict; 1 when an answer check failed, or (``--strict``) a target was missed."""
    if not answers_ok:
        print("answer check FAILED")
        return 1
    if strict and not targets_met:
        print("target MISSED")
        return 1
    return 0
