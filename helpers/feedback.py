"""Feedback for the learner: the checks of the learner copies' exercises, and the reveal that follows a prediction.

Each solution cell in ``notebooks/`` ends with asserts that carry a message (``assert set(by_colour) == ...,
"by_colour holds ..."``); they prove the solution in CI. ``tools/learner_copies.py`` turns them into a call of
``check_exercise`` under the learner's blank cell. It prints one line per check (right, or not yet with the
message as a hint) and never raises, so *Run All* still reaches the end of a notebook with unsolved exercises.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from helpers.i18n import _


def check_exercise(number: int, checks: Sequence[tuple[str, str]], namespace: Mapping) -> bool:
    """Evaluate each ``(expression, message)`` in ``namespace`` (pass ``globals()``); print what passes and what
    does not yet, with why (a name not defined yet, an error, or simply false). True when every check passes."""
    passed = 0
    for expression, message in checks:
        try:
            ok, why = bool(eval(expression, dict(namespace))), ""  # a copy: a check never changes the learner's names
        except NameError as error:
            ok, why = False, " " + _("({name} is not defined yet: run your code first)").format(name=error.name or error)
        except Exception as error:  # a check must not stop the notebook, whatever the learner's code left behind
            ok, why = False, f" ({type(error).__name__}: {error})"
        passed += ok
        print(f"{'✔' if ok else '✘ ' + _('not yet:')} {message}{why}")
    verdict = (_("solved") if passed == len(checks)
               else _("{passed} of {total} checks pass; the solution is in notebooks/").format(passed=passed, total=len(checks)))
    print(_("Exercise {number}: {verdict}").format(number=number, verdict=verdict))
    return passed == len(checks)


def reveal(guess, measured: str) -> str:
    """Print the learner's prediction (``my_guess``, or a widget's ``.value``) beside what the run measured, before
    the "What just happened" that explains it. An empty guess is pointed out, never an error. Returns the text."""
    written = guess not in (None, "") and not (isinstance(guess, (list, tuple, set)) and not guess)
    text = (_("your prediction: {guess}").format(guess=guess if written else _("(none written: set my_guess before you run the cell)")) + "\n"
            + _("measured:        {measured}").format(measured=measured))
    print(text)
    return text
