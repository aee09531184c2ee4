"""The simulator's contrasts follow MR physics, its sidecars equal what it used, and it is reproducible."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from prism.data import physics
from prism.data.anatomy import sample_anatomy
from prism.data.simulator import SERIES, render_series, sample_protocol, simulate_corpus

TISSUE = {name: i for i, name in enumerate(physics.TISSUES)}


def _pure_tissue_fractions() -> np.ndarray:
    """One 8-voxel-thick slab of each pure tissue (and air), so partial volume plays no part."""
    fractions = np.zeros((len(physics.TISSUES), 8 * (len(physics.TISSUES) + 1), 8, 8), dtype=np.float32)
    for i in range(len(physics.TISSUES)):
        fractions[i, 8 * i : 8 * (i + 1)] = 1.0
    return fractions


def _tissue_means(image: np.ndarray) -> dict[str, float]:
    return {name: float(image[8 * i + 2 : 8 * i + 6].mean()) for name, i in TISSUE.items()}


@pytest.mark.parametrize("field", [1.5, 3.0])
def test_pure_tissue_contrasts(field: float) -> None:
    rng = np.random.default_rng(0)
    fractions = _pure_tissue_fractions()
    means = {}
    for name in ("t1w_se", "t1w_gre", "t2w", "flair", "stir"):
        protocol = sample_protocol(name, rng, field)
        image, _ = render_series(fractions, protocol, field, np.random.default_rng(1))
        means[name] = _tissue_means(image.astype(np.float64))
    wm = {name: m["wm"] for name, m in means.items()}
    for t1 in ("t1w_se", "t1w_gre"):
        assert means[t1]["csf"] < 0.6 * wm[t1] and means[t1]["gm"] < wm[t1]  # long T1 is dark on T1W
    assert means["t2w"]["csf"] > 1.5 * wm["t2w"] and means["t2w"]["gm"] > wm["t2w"]  # long T2 is bright
    assert means["flair"]["csf"] < 0.15 * wm["flair"]  # CSF nulled (Rician floor only)
    assert means["stir"]["fat"] < 0.15 * wm["stir"]  # fat nulled
    assert means["t1w_se"]["fat"] > wm["t1w_se"]  # short T1 of fat: bright on T1W


def test_noise_free_ratios_match_reference_values() -> None:
    """Mid-range 1.5 T protocols reproduce the expected contrasts of the reference table."""
    props = physics.tissue_table(1.5)
    t1w = physics.spin_echo(props["pd"], props["t1"], props["t2"], 550.0, 14.0)
    t2w = physics.spin_echo(props["pd"], props["t1"], props["t2"], 4500.0, 100.0)
    assert t1w[TISSUE["gm"]] / t1w[TISSUE["wm"]] == pytest.approx(0.79, abs=0.05)
    assert t1w[TISSUE["csf"]] / t1w[TISSUE["wm"]] == pytest.approx(0.36, abs=0.05)
    assert t2w[TISSUE["gm"]] / t2w[TISSUE["wm"]] == pytest.approx(1.58, abs=0.1)
    assert t2w[TISSUE["csf"]] / t2w[TISSUE["wm"]] == pytest.approx(3.5, abs=0.4)
    ti = physics.inversion_null(props["t1"][TISSUE["csf"]], 9000.0)
    flair = physics.inversion_recovery(props["pd"], props["t1"], props["t2"], 9000.0, 110.0, ti)
    assert abs(flair[TISSUE["csf"]]) < 1e-9


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("sim")
    return out, simulate_corpus(out, subjects=2, seed=3, shape=48, spacing=5.0, lesion_probability=1.0)


def test_written_images_follow_physics(corpus: tuple[Path, list[dict]]) -> None:
    _, results = corpus
    subject = results[0]
    labels = np.asarray(nib.load(subject["labels"]).dataobj)
    core = {k: ndimage.binary_erosion(labels == k) for k in (1, 3)}  # CSF (ventricles), WM away from edges
    reference = np.asarray(nib.load(subject["images"]["t1w_se"]).dataobj, dtype=np.float64)
    t2 = np.asarray(nib.load(subject["images"]["t2w"]).dataobj, dtype=np.float64)
    flair = np.asarray(nib.load(subject["images"]["flair"]).dataobj, dtype=np.float64)
    assert reference[core[1]].mean() < 0.6 * reference[core[3]].mean()
    assert t2[core[1]].mean() > 1.5 * t2[core[3]].mean()
    assert flair[core[1]].mean() < 0.25 * flair[core[3]].mean()
    b0, b1000 = (np.asarray(nib.load(subject["images"][k]).dataobj, np.float64) for k in ("dwi_b0", "dwi_b1000"))
    b0_scale, b1000_scale = (
        json.loads(Path(subject["images"][k].replace(".nii.gz", ".json")).read_text())["PrismIntensityScale"]
        for k in ("dwi_b0", "dwi_b1000")
    )
    attenuation = {k: (b1000[core[k]].mean() / b1000_scale) / (b0[core[k]].mean() / b0_scale) for k in (1, 3)}
    assert attenuation[3] == pytest.approx(np.exp(-1000 * 0.70e-3), abs=0.12)  # WM: exp(-b ADC)
    assert attenuation[1] < 0.5 * attenuation[3]  # free water (ADC 3.0) loses most of its signal
    lesion = np.asarray(nib.load(subject["lesion"]).dataobj)
    assert lesion.sum() > 0 and set(np.unique(lesion)) <= {0, 1}
    assert flair[lesion > 0].mean() > flair[core[3]].mean()  # oedematous lesion is bright on FLAIR


def test_sidecars_equal_parameters_used(corpus: tuple[Path, list[dict]]) -> None:
    out, results = corpus
    subject = results[1]
    # Re-draw subject 2's parameters in the simulator's order: field, anatomy, sex, then one protocol a series.
    rng = np.random.default_rng([3, 1])
    field = float(rng.choice(physics.FIELD_STRENGTHS))
    sample_anatomy(rng, lesion_probability=1.0)
    rng.choice(["F", "M"])
    protocols = {name: sample_protocol(name, rng, field) for name in SERIES}
    for name in ("dwi_b500", "dwi_b1000"):  # the b-values of one DWI acquisition share TR/TE, SNR and coil
        protocols[name] = dataclasses.replace(
            protocols[name],
            **{k: getattr(protocols["dwi_b0"], k) for k in ("tr", "te", "snr", "bias_strength", "bias_grid")},
        )
    assert field == subject["field_strength"]
    for name, path in subject["images"].items():
        sidecar = json.loads(Path(path.replace(".nii.gz", ".json")).read_text())
        assert sidecar["MagneticFieldStrength"] == subject["field_strength"]
        assert sidecar["PrismSeries"] == name
        assert np.allclose(sidecar["PrismRigidToReference"], subject["transforms"][name])
        used = protocols[name]
        assert sidecar["RepetitionTime"] * 1000 == pytest.approx(used.tr, abs=1e-6)
        assert sidecar["EchoTime"] * 1000 == pytest.approx(used.te, abs=1e-6)
        assert sidecar["FlipAngle"] == used.flip_angle
        assert sidecar.get("DiffusionBValue") == used.b_value
        assert sidecar.get("PrismTimeAfterInjection") == used.contrast_time_s
        assert sidecar["PrismSNR"] == used.snr
        assert np.array_equal(np.asarray(sidecar["PrismRigidToReference"]), used.rigid)
        if used.ti is not None:
            assert sidecar["InversionTime"] * 1000 == pytest.approx(used.ti, abs=1e-6)
        low, high = SERIES[name].tr
        assert low <= sidecar["RepetitionTime"] * 1000 <= high
        low, high = SERIES[name].te
        assert low <= sidecar["EchoTime"] * 1000 <= high
    flair = json.loads(Path(subject["images"]["flair"].replace(".nii.gz", ".json")).read_text())
    t1_csf = physics.tissue_table(subject["field_strength"])["t1"][TISSUE["csf"]]
    expected_ti = physics.inversion_null(t1_csf, flair["RepetitionTime"] * 1000)
    assert flair["InversionTime"] * 1000 == pytest.approx(expected_ti, abs=0.05)
    participants = (out / "participants.tsv").read_text().splitlines()
    assert participants[2].split("\t")[1] == f"{subject['age']:.1f}"


def test_sidecar_parameters_reproduce_the_image(corpus: tuple[Path, list[dict]]) -> None:
    """Re-rendering pure tissue with the sidecar's TR/TE/TI gives the image's WM/CSF ratio on T2W."""
    _, results = corpus
    subject = results[0]
    sidecar = json.loads(Path(subject["images"]["t2w"].replace(".nii.gz", ".json")).read_text())
    props = physics.tissue_table(sidecar["MagneticFieldStrength"])
    tr, te = sidecar["RepetitionTime"] * 1000, sidecar["EchoTime"] * 1000
    signal = physics.spin_echo(props["pd"], props["t1"], props["t2"], tr, te)
    labels = np.asarray(nib.load(subject["labels"]).dataobj)
    image = np.asarray(nib.load(subject["images"]["t2w"]).dataobj, dtype=np.float64)
    ventricles = ndimage.binary_erosion(labels == 1, iterations=1)
    wm = ndimage.binary_erosion(labels == 3, iterations=1)
    measured = image[ventricles].mean() / image[wm].mean()
    expected = signal[TISSUE["csf"]] / signal[TISSUE["wm"]]
    assert measured == pytest.approx(expected, rel=0.35)  # partial volume and bias field only


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    kwargs = dict(subjects=1, shape=32, spacing=7.5, sequences=["t1w_se", "flair", "dce"])
    simulate_corpus(tmp_path / "a", seed=5, **kwargs)
    simulate_corpus(tmp_path / "b", seed=5, **kwargs)
    simulate_corpus(tmp_path / "c", seed=6, **kwargs)
    first, second, other = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert first == second and len(first) >= 9
    assert first != other


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="field_strength"):
        simulate_corpus(tmp_path, subjects=1, shape=16, spacing=15, field_strength=7.0)
    with pytest.raises(ValueError, match="Unknown sequences"):
        simulate_corpus(tmp_path, subjects=1, shape=16, spacing=15, sequences=["t1w", "ct"])
    with pytest.raises(ValueError, match="shape"):
        simulate_corpus(tmp_path, subjects=1, shape=(16, 16), spacing=15)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from prism.cli import main

    out = tmp_path / "cli"
    main(["simulate", "--out", str(out), "--subjects", "2", "--seed", "1", "--shape", "16", "--spacing", "15",
          "--sequences", "t1w_se,stir", "--field_strength", "1.5", "--lesions", "0"])
    assert "wrote 2 subjects, 4 series" in capsys.readouterr().out
    sidecar = json.loads((out / "sub-002" / "anat" / "sub-002_STIR.json").read_text())
    assert sidecar["MagneticFieldStrength"] == 1.5 and sidecar["ScanningSequence"] == "IR"
    assert nib.load(out / "sub-001" / "anat" / "sub-001_acq-se_T1w.nii.gz").shape == (16, 16, 16)
    assert not np.asarray(nib.load(out / "sub-001" / "anat" / "sub-001_label-lesion_mask.nii.gz").dataobj).any()


def test_rigid_transforms_are_registration_ground_truth(tmp_path: Path) -> None:
    """A moved series equals the unmoved one resampled at M @ x (M from the sidecar), not at x or M^-1 @ x.

    ``series_motion`` only decides whether the drawn motion is applied, so both runs share anatomy,
    protocols and noise.
    """
    kwargs = dict(subjects=1, seed=4, shape=64, spacing=3.75, sequences=["t1w_se", "t2w"], lesion_probability=0.0)
    moved = simulate_corpus(tmp_path / "moved", series_motion=True, **kwargs)[0]
    still = simulate_corpus(tmp_path / "still", series_motion=False, **kwargs)[0]
    assert np.array_equal(moved["transforms"]["t1w_se"], np.eye(4).tolist())
    image = nib.load(still["images"]["t2w"])
    reference = np.asarray(image.dataobj, dtype=np.float64)
    target = np.asarray(nib.load(moved["images"]["t2w"]).dataobj, dtype=np.float64)
    matrix = np.asarray(json.loads(Path(moved["images"]["t2w"].replace(".nii.gz", ".json")).read_text())[
        "PrismRigidToReference"])
    assert not np.allclose(matrix, np.eye(4))
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in target.shape], indexing="ij"), -1).reshape(-1, 3)
    world = grid @ image.affine[:3, :3].T + image.affine[:3, 3]
    head = reference > 0.1 * reference.max()
    errors = {}
    for name, transform in (("M", matrix), ("identity", np.eye(4)), ("inverse", np.linalg.inv(matrix))):
        points = world @ transform[:3, :3].T + transform[:3, 3]
        inverse = np.linalg.inv(image.affine)
        voxels = points @ inverse[:3, :3].T + inverse[:3, 3]
        resampled = ndimage.map_coordinates(reference, voxels.T, order=1).reshape(target.shape)
        errors[name] = np.abs(resampled - target)[head].mean() / target[head].mean()
    assert errors["M"] < 0.6 * errors["identity"] and errors["M"] < 0.6 * errors["inverse"]


def test_atrophy_with_age() -> None:
    """0.3% brain volume a year after 35: an 80-year-old brain is ~13.5% smaller, CSF fills the gap."""
    from prism.data.anatomy import render_fractions

    params = sample_anatomy(np.random.default_rng(0), lesion_probability=0.0)
    volumes = {}
    for age in (30.0, 80.0):
        fractions = render_fractions(dataclasses.replace(params, age=age), (48, 48, 48), 5.0)
        brain = fractions[TISSUE["gm"]].sum() + fractions[TISSUE["wm"]].sum()
        intracranial = brain + fractions[TISSUE["csf"]].sum()
        volumes[age] = (brain, intracranial)
    assert volumes[80.0][0] / volumes[30.0][0] == pytest.approx(1 - 0.003 * 45, abs=0.02)
    assert volumes[80.0][1] == pytest.approx(volumes[30.0][1], rel=0.01)  # the head does not shrink
