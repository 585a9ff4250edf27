import csv

import numpy as np
import pytest
import torch
from _helpers_relabel import make_videos

from skflux.relabel import (
    CallbackOracle,
    ConsoleOracle,
    Oracle,
    ReviewPending,
    ReviewRequest,
    SheetOracle,
    TruthOracle,
    Verdict,
)
from skflux.relabel._oracles import check_oracle


def _request(X=None, indices=(1, 3, 4), labels=(0, 1, 0), proba=(0.9, 0.2, 0.7), pass_index=2):
    indices = list(indices)
    return ReviewRequest(indices, list(labels), list(proba), [f"id{i}" for i in indices],
                         [f"bmr{i}" for i in indices], pass_index, X)


def test_request_items_and_lazy_videos():
    da = make_videos(6, n_frames=4, size=4)
    req = _request(da)
    assert len(req) == 3 and "3 videos" in repr(req)
    item = req[1]
    assert (item.index, item.video_id, item.label, item.bmr_id, item.pass_index) == (
        3, "id3", 1, "bmr3", 2)
    assert item.model_label == 0 and item.proba == pytest.approx(0.2)
    np.testing.assert_array_equal(item.video, da.values[3])
    arr = da.values
    np.testing.assert_array_equal(_request(arr)[0].video, arr[1])
    np.testing.assert_array_equal(_request(torch.from_numpy(arr))[2].video, arr[4])
    with pytest.raises(ValueError, match="no video data"):
        _request()[0].video  # noqa: B018


def test_truth_oracle_from_array_and_from_coordinate():
    oracle = TruthOracle(np.array([1, 1, 0, 0, 1]), emergence_frames=None)
    out = list(oracle.review(_request()))
    assert [(v.index, v.label, v.emergence_frame) for v in out] == [
        (1, 1, None), (3, 0, None), (4, 1, None)]
    assert oracle.n_reviewed_ == 3
    da = make_videos(6, n_frames=4, size=4)
    out = list(TruthOracle().review(_request(da)))
    truth = da.true_label.values
    assert [v.label for v in out] == [int(truth[i]) for i in (1, 3, 4)]
    assert all((v.emergence_frame == 2) == (v.label == 1) for v in out)


def test_truth_oracle_errors():
    with pytest.raises(ValueError, match="no coordinate 'true_label'"):
        list(TruthOracle().review(_request(np.zeros((5, 2, 2, 2)))))
    with pytest.raises(ValueError, match="2 true labels; video 3"):
        list(TruthOracle([0, 1]).review(_request()))
    with pytest.raises(ValueError, match="true label of video 1"):
        list(TruthOracle([0, 7, 1, 1, 1]).review(_request()))


def test_callback_oracle_answer_forms():
    answers = {1: 1, 3: Verdict(3, 1, 12, "clear"), 4: ("n", None)}
    out = list(CallbackOracle(lambda item: answers[item.index]).review(_request()))
    assert out == [Verdict(1, 1), Verdict(3, 1, 12, "clear"), Verdict(4, 0)]
    out = list(CallbackOracle(lambda item: (1, 7)).review(_request()))
    assert [v.emergence_frame for v in out] == [7, 7, 7]


def test_callback_oracle_batch():
    out = list(CallbackOracle(lambda req: [1, 0, "yes"], batch=True).review(_request()))
    assert [(v.index, v.label) for v in out] == [(1, 1), (3, 0), (4, 1)]
    out = list(CallbackOracle(lambda req: [Verdict(4, 0), Verdict(1, 1)], batch=True)
               .review(_request()))
    assert [v.index for v in out] == [4, 1]
    with pytest.raises(ValueError, match="more answers than the 3"):
        list(CallbackOracle(lambda req: [1, 1, 1, 1], batch=True).review(_request()))


@pytest.mark.parametrize("answer, match", [
    (2, "not a label 0/1"), ("maybe", "not a label"), ((1, 2, 3), "label or"),
    (None, "not a label 0/1"),
])
def test_callback_oracle_bad_answers(answer, match):
    with pytest.raises(ValueError, match=match):
        list(CallbackOracle(lambda item: answer).review(_request()))


def test_callback_oracle_needs_callable():
    with pytest.raises(TypeError, match="callable"):
        list(CallbackOracle(3).review(_request()))


def test_check_oracle():
    with pytest.raises(ValueError, match="needs an oracle"):
        check_oracle(None)
    with pytest.raises(TypeError, match="review"):
        check_oracle(42)
    assert isinstance(check_oracle(lambda item: 1), CallbackOracle)
    with pytest.raises(NotImplementedError):
        Oracle().review(_request())


def test_console_oracle_asks_and_writes_figures(tmp_path, monkeypatch, capsys):
    answers = iter(["maybe", "y 4", "y 3", "n", "", "Y"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    da = make_videos(6, n_frames=4, size=4)
    oracle = ConsoleOracle(figure_dir=tmp_path / "figs")
    out = list(oracle.review(_request(da)))
    assert [(v.index, v.label, v.emergence_frame) for v in out] == [
        (1, 1, 3), (3, 0, None), (4, 1, None)]
    printed = capsys.readouterr().out
    assert "please answer" in printed and "video id3" in printed
    assert "emergence_frame 4 is outside the video's frames 0-3" in printed
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "pass2_video1.png", "pass2_video3.png", "pass2_video4.png"]


def test_console_oracle_quit_pauses(monkeypatch):
    answers = iter(["n", "q"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    gen = ConsoleOracle(show_figures=False, print_func=lambda *a: None).review(_request())
    assert next(gen) == Verdict(1, 0)
    with pytest.raises(ReviewPending, match="2 videos of pass 2 left") as info:
        next(gen)
    assert info.value.n_pending == 2


def test_console_oracle_rejects_frame_for_non_emergence(monkeypatch):
    answers = iter(["n 4", "y -3", "y 4"])
    oracle = ConsoleOracle(show_figures=False, input_func=lambda p: next(answers),
                           print_func=lambda *a: None)
    assert next(oracle.review(_request())) == Verdict(1, 1, 4)


def _fill(path, values):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    for row in rows:
        value = values.get(int(row["video"]))
        if value is not None:
            row["verdict"], row["emergence_frame"] = value
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def test_sheet_round_trip(tmp_path):
    da = make_videos(6, n_frames=4, size=4)
    oracle = SheetOracle(tmp_path / "review")
    req = _request(da)
    with pytest.raises(ReviewPending, match="3 videos of pass 2") as info:
        list(oracle.review(req))
    sheet = info.value.path
    assert sheet == tmp_path / "review" / "review_pass2.csv"
    with open(sheet, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["video"] for r in rows] == ["1", "3", "4"]
    assert rows[0]["bmr_id"] == "bmr1" and rows[0]["current_label"] == "0"
    assert (tmp_path / "review" / rows[0]["figure"]).exists()
    # partly filled: the filled rows come out, then the review pauses again
    _fill(sheet, {3: ("non-emergence", "")})
    gen = oracle.review(req)
    assert next(gen) == Verdict(3, 0)
    with pytest.raises(ReviewPending) as info:
        next(gen)
    assert info.value.n_pending == 2
    _fill(sheet, {1: ("y", "2.0"), 4: ("0", "")})
    assert list(oracle.review(req)) == [Verdict(1, 1, 2), Verdict(3, 0), Verdict(4, 0)]


def test_sheet_errors_name_file_and_line(tmp_path):
    oracle = SheetOracle(tmp_path, figures=False)
    req = _request()
    with pytest.raises(ReviewPending):
        list(oracle.review(req))
    sheet = oracle.sheet_path(2)
    _fill(sheet, {3: ("perhaps", "")})
    with pytest.raises(ValueError, match=r"review_pass2.csv, line 3 \(video id3\)"):
        list(oracle.review(req))
    _fill(sheet, {3: ("1", "soon")})
    with pytest.raises(ValueError, match="emergence_frame 'soon'"):
        list(oracle.review(req))
    sheet.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        list(oracle.review(req))
    sheet.write_text("video,verdict\nseven,1\n")
    with pytest.raises(ValueError, match="line 2: video 'seven'"):
        list(oracle.review(req))


def test_sheet_adds_rows_for_new_videos(tmp_path):
    oracle = SheetOracle(tmp_path, figures=False)
    with pytest.raises(ReviewPending):
        list(oracle.review(_request(indices=(1,), labels=(0,), proba=(0.9,))))
    _fill(oracle.sheet_path(2), {1: ("1", "")})
    with pytest.raises(ReviewPending) as info:
        list(oracle.review(_request()))
    assert info.value.n_pending == 2
    with open(oracle.sheet_path(2), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["video"], r["verdict"]) for r in rows] == [("1", "1"), ("3", ""), ("4", "")]


@pytest.mark.parametrize("fill, match", [
    ({3: ("y", "999")}, r"line 3 \(video id3\): emergence_frame 999 is outside the video's "
                        r"frames 0-3"),
    ({3: ("y", "-3")}, r"line 3 \(video id3\): emergence_frame -3 is outside"),
    ({3: ("y", "1.5")}, r"line 3 \(video id3\): emergence_frame '1.5' is not a frame number"),
    ({4: ("non-emergence", "2")}, r"line 4 \(video id4\): emergence_frame 2 with a "
                                  r"non-emergence verdict"),
])
def test_sheet_refuses_impossible_rows_before_any_verdict(tmp_path, fill, match):
    da = make_videos(6, n_frames=4, size=4)
    oracle = SheetOracle(tmp_path, figures=False)
    req = _request(da)
    with pytest.raises(ReviewPending):
        list(oracle.review(req))
    _fill(oracle.sheet_path(2), {1: ("1", ""), **fill})
    given = []
    with pytest.raises(ValueError, match=match):
        for verdict in oracle.review(req):  # the good row of line 2 is not given either
            given.append(verdict)
    assert given == []


def test_sheet_refuses_two_rows_for_one_video(tmp_path):
    oracle = SheetOracle(tmp_path, figures=False)
    req = _request()
    with pytest.raises(ReviewPending):
        list(oracle.review(req))
    sheet = oracle.sheet_path(2)
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join(lines + [lines[2]]) + "\n")
    _fill(sheet, {3: ("1", "")})
    with pytest.raises(ValueError, match=r"review_pass2.csv, line 5: a second row for video 3 "
                                         r"\(the first is line 3\)"):
        list(oracle.review(req))


def test_verdicts_in_the_classes_of_y():
    req = ReviewRequest([0, 1], [0, 1], [0.9, 0.2], ["a", "b"], None, 1,
                        classes=[-1, 1], pos_label=1)
    assert [v.label for v in TruthOracle([1, -1]).review(req)] == [1, 0]
    req = ReviewRequest([0, 1], [0, 1], [0.9, 0.2], ["a", "b"], None, 1,
                        classes=["quiet", "rising"], pos_label="rising")
    assert [v.label for v in TruthOracle(["rising", "quiet"]).review(req)] == [1, 0]
    assert [v.label for v in CallbackOracle(lambda item: "y").review(req)] == [1, 1]
    with pytest.raises(ValueError, match="'maybe' is not a label"):
        list(TruthOracle(["maybe", "quiet"]).review(req))
