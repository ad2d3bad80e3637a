"""Saved outputs as a reader sees them: progress-bar redraws collapse to their last state."""
import nbformat

from ganlib.tidy_outputs import as_displayed, tidy_notebook


def test_carriage_returns_overwrite_the_line_as_a_terminal_does():
    assert as_displayed("train:  10%\rtrain:  50%\rtrain: 100%\n") == "train: 100%\n"
    assert as_displayed("abcdef\rxy") == "xycdef"
    assert as_displayed("bar 3/9\r       \rdone\n") == "done\n"  # a bar cleared by tqdm(leave=False)
    assert as_displayed("one\r\ntwo\n") == "one\ntwo\n"  # Windows line ends are line ends


def test_a_cells_progress_outputs_merge_into_one_and_others_stay(tmp_path):
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="\rsteps:   0%"),
                    nbformat.v4.new_output("stream", name="stderr", text="\rsteps:  50%"),
                    nbformat.v4.new_output("stream", name="stderr", text="\rsteps: 100%\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="IS 8.1\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"})]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    assert tidy_notebook(path) == 2
    outputs = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert [(o.output_type, o.get("text")) for o in outputs] == [
        ("stream", "steps: 100%\n"), ("stream", "IS 8.1\n"), ("display_data", None)]
