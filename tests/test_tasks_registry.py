"""The task registry: the paper's 44 tasks, their counts and label layouts, lookups and validation."""

from __future__ import annotations

import dataclasses

import pytest

from prism.tasks import TASKS, LabelClass, Task, get_task, list_tasks


def test_44_tasks_numbered_in_paper_order_with_unique_names():
    assert [t.number for t in TASKS] == list(range(1, 45))
    assert len({t.name for t in TASKS}) == 44
    assert all(t.bundle_name == "prism_" + t.name for t in TASKS)


def test_segmentation_counts_match_the_paper():
    organ = list_tasks(family="organ_seg")
    assert len(organ) == 20 and len(list_tasks(family="lesion_seg")) == 5
    # 20 organ sets: 2 held-out, 13 independent, 5 external (paper section 2.1.1, tasks.md).
    assert [sum(t.cohort == c for t in organ) for c in ("held-out", "independent", "external")] == [2, 13, 5]
    external = list_tasks(cohort="external", segmentation=True)
    assert {t.dataset for t in external} == {
        "MSD Task02 Heart", "CHAOS (MR)", "ATLAS (liver)", "PanSegData (MR)", "Prostate158",
    }  # fmt: skip
    for t in external:
        source = get_task(t.source_task)
        assert source.is_segmentation and not source.is_external and t.label_mapping
        for mapping in t.label_mapping:
            assert set(mapping.source) <= set(source.class_names)
            assert mapping.target in t.class_names


def test_published_label_layouts():
    brats = get_task("brats2021_tumour_seg")
    assert brats.channels == ("T1", "T1ce", "T2", "FLAIR")
    assert brats.raw_to_index() == {0: 0, 1: 1, 2: 2, 4: 3}
    assert [r.name for r in brats.regions] == ["TC", "WT", "ET"]
    assert get_task("picai_lesion_seg").channels == ("T2", "ADC", "HBV")
    assert get_task("msd_prostate_seg").class_names == ("peripheral_zone", "transition_zone")
    amos = get_task("amos_abdomen_seg")
    assert amos.num_classes == 14 and amos.labels[5] == LabelClass("liver", (6,))
    assert [c.value for c in get_task("mmwhs_heart_seg").labels] == [205, 420, 500, 550, 600, 820, 850]
    spider = get_task("spider_spine_seg")
    assert spider.raw_to_index()[225] == 3 and spider.raw_to_index()[100] == 2 and spider.num_classes == 4
    # A liver-tumour task treats the liver label as background.
    assert get_task("atlas_tumour_seg").raw_to_index() == {0: 0, 1: 0, 2: 1}


def test_paper_figures():
    assert get_task("brats2021_tumour_seg").paper_figure == 90.58
    assert get_task("oaizib_knee_seg").paper_figure == 93.20
    assert get_task("openbhb_brain_age").paper_figure == 3.417
    assert get_task("acdc_heart_seg").paper_figure is None and "nnUNet" in get_task("acdc_heart_seg").paper_note


def test_lookup_accepts_bundle_names_and_suggests_the_closest():
    assert get_task("prism_amos_abdomen_seg") is get_task("amos_abdomen_seg")
    with pytest.raises(ValueError, match="brats2021_tumour_seg"):
        get_task("brats_tumour_seg")
    with pytest.raises(ValueError, match="organ_seg"):
        list_tasks(family="organ_segmentation")
    assert [t.number for t in list_tasks("prostate158_*")] == [14, 24]
    assert len(list_tasks(segmentation=False)) == 19


def test_input_keys():
    assert get_task("amos_abdomen_seg").input_keys == ("image",)
    assert get_task("brats2021_tumour_seg").input_keys == ("t1", "t1ce", "t2", "flair")


def _replace(task_name: str, **changes) -> Task:
    return dataclasses.replace(get_task(task_name), **changes)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"family": "organ"}, "family"),
        ({"cohort": "internal"}, "cohort"),
        ({"name": "ACDC heart"}, "names are lower-case"),
        ({"labels": (LabelClass("a", (1,)), LabelClass("b", (1,)))}, "more than one class"),
        ({"roi_size": (96, 96, 80)}, "multiples of 32"),
        ({"labels": ()}, "at least one foreground"),
        ({"channels": ()}, "at least one input channel"),
        ({"source_task": "amos_abdomen_seg"}, "external segmentation tasks"),
    ],
)
def test_invalid_entries_fail(changes, message):
    with pytest.raises(ValueError, match=message):
        _replace("acdc_heart_seg", **changes)
