"""The learner's feedback: an exercise's checks print right / not yet with a hint and never raise; a reveal prints
the prediction beside the measurement."""

from helpers.feedback import check_exercise, reveal


def test_checks_say_what_passes_and_why_the_rest_does_not(capsys):
    namespace = {"answer": 41, "words": ["a"]}
    ok = check_exercise(2, [("answer == 41", "answer is 41"), ("answer > 50", "answer is over 50"), ("missing + 1", "missing is set"),
                            ("words[3]", "words has four items")], namespace)
    lines = capsys.readouterr().out.splitlines()
    assert ok is False
    assert lines == ["✔ answer is 41", "✘ not yet: answer is over 50", "✘ not yet: missing is set (missing is not defined yet: run your code first)",
                     "✘ not yet: words has four items (IndexError: list index out of range)",
                     "Exercise 2: 1 of 4 checks pass; the solution is in notebooks/"]
    assert namespace == {"answer": 41, "words": ["a"]}  # eval ran on a copy: no __builtins__ left behind


def test_all_checks_passing_say_solved(capsys):
    assert check_exercise(1, [("x * 2 == 4", "x doubled is 4")], {"x": 2}) is True
    assert capsys.readouterr().out.splitlines()[-1] == "Exercise 1: solved"


def test_reveal_puts_the_guess_beside_the_measurement(capsys):
    assert reveal("jump", "jump at step 600") == "your prediction: jump\nmeasured:        jump at step 600"
    assert reveal(None, "48x fewer").startswith("your prediction: (none written: set my_guess before you run the cell)")
    assert reveal("", "x").startswith("your prediction: (none written")
    assert capsys.readouterr().out.count("measured:") == 3
