"""The paper's 44 downstream tasks (Qiu et al., sections 2.1-2.5, Tables 1-3, Fig. 1-4), one entry each.

Label values are the ones the datasets publish in their label files; a comment says so where the
project is unsure or where the user must convert the data first. The paper resamples every
segmentation input to 1 mm and trains on 96^3 crops; an entry deviates only where it says why.
"""

from __future__ import annotations

import difflib
import fnmatch

from monai.utils import look_up_option

from prism.tasks.spec import FAMILIES, LabelClass, LabelMapping, LabelRegion, Task

__all__ = ["TASKS", "get_task", "list_tasks", "tasks_command"]


def _classes(*pairs: tuple[str, int | tuple[int, ...]]) -> tuple[LabelClass, ...]:
    return tuple(LabelClass(n, v if isinstance(v, tuple) else (v,)) for n, v in pairs)


def _binary(*names: str) -> tuple[LabelClass, ...]:
    """Classification outputs: one class per name, valued by position."""
    return tuple(LabelClass(n, (i,)) for i, n in enumerate(names))


_MSD = dict(
    data_source="Medical Segmentation Decathlon, http://medicaldecathlon.com",
    data_license="CC BY-SA 4.0 (Medical Segmentation Decathlon)",
    reference="Antonelli et al., The Medical Segmentation Decathlon, Nature Communications 13:4128 (2022)",
)
_AMOS_REF = "Ji et al., AMOS: a large-scale abdominal multi-organ benchmark, arXiv:2206.08023 (2022)"
_ATLAS = dict(
    data_source="ATLAS challenge (MICCAI 2023), https://atlas-challenge.u-bourgogne.fr",
    data_license="challenge data terms (check the ATLAS site before use)",
    reference="Quinton et al., A tumour and liver automatic segmentation (ATLAS) dataset on contrast-enhanced MRI, "
    "Data 8(5):79 (2023)",
)
_P158 = dict(
    data_source="Prostate158, https://zenodo.org/records/6481141",
    data_license="CC BY 4.0 (as published on Zenodo; verify)",
    reference="Adams et al., Prostate158: an expert-annotated 3T MRI dataset and algorithm for prostate cancer "
    "detection, Computers in Biology and Medicine 148:105817 (2022)",
)
_PRIVATE_KNEE = dict(
    data_source="private cohort of the PRISM authors (not public)",
    data_license="not available",
    notes="Private cohort: the label layout is not published; the classes here are a placeholder guess.",
)

_AMOS_MR_CLASSES = _classes(
    ("spleen", 1), ("right_kidney", 2), ("left_kidney", 3), ("gallbladder", 4), ("esophagus", 5),
    ("liver", 6), ("stomach", 7), ("aorta", 8), ("inferior_vena_cava", 9), ("pancreas", 10),
    ("right_adrenal_gland", 11), ("left_adrenal_gland", 12), ("duodenum", 13),
)  # fmt: skip

# TotalSegmentator >= 2.5 "total_mr" layout; earlier 2.x releases had 50 classes (no fibula, tibia or
# thigh muscles) and the MRI paper's arXiv v1 names 59 structures: check the release you use.
_TOTALSEG_MR = (
    "spleen kidney_right kidney_left gallbladder liver stomach pancreas adrenal_gland_right "
    "adrenal_gland_left lung_left lung_right esophagus small_bowel duodenum colon urinary_bladder prostate "
    "sacrum vertebrae intervertebral_discs spinal_cord heart aorta inferior_vena_cava "
    "portal_vein_and_splenic_vein iliac_artery_left iliac_artery_right iliac_vena_left iliac_vena_right "
    "humerus_left humerus_right fibula tibia femur_left femur_right hip_left hip_right gluteus_maximus_left "
    "gluteus_maximus_right gluteus_medius_left gluteus_medius_right gluteus_minimus_left "
    "gluteus_minimus_right autochthon_left autochthon_right iliopsoas_left iliopsoas_right "
    "quadriceps_femoris_left quadriceps_femoris_right thigh_medial_compartment_left "
    "thigh_medial_compartment_right thigh_posterior_compartment_left thigh_posterior_compartment_right "
    "sartorius_left sartorius_right brain"
).split()

# HaN-Seg ships one binary NRRD per organ at risk, in CT space; the values below are the challenge's
# alphabetical order. The MR (T1) must be registered to the CT and the masks merged by the user.
_HANSEG_OARS = (
    "A_Carotid_L A_Carotid_R Arytenoid Bone_Mandible Brainstem BuccalMucosa Cavity_Oral Cochlea_L Cochlea_R "
    "Cricopharyngeal_Inlet Esophagus_S Eye_AL Eye_AR Eye_PL Eye_PR Glnd_Lacrimal_L Glnd_Lacrimal_R "
    "Glnd_Submand_L Glnd_Submand_R Glnd_Thyroid Glottis Larynx_SG Lips OpticChiasm OpticNrv_L OpticNrv_R "
    "Parotid_L Parotid_R Pituitary SpinalCord"
).split()

TASKS: tuple[Task, ...] = (
    # ---------------------------------------------------------------- organ segmentation (1-20)
    Task(1, "acdc_heart_seg", "organ_seg", "ACDC", "independent", "heart", ("cine",),
         _classes(("RV", 1), ("MYO", 2), ("LV", 3)), "dice",
         paper_note="below nnUNet (paper Fig. 2e)",
         data_source="ACDC challenge, https://www.creatis.insa-lyon.fr/Challenge/acdc",
         data_license="research use under the challenge's terms",
         reference="Bernard et al., IEEE TMI 37(11):2514-2525 (2018)",
         notes="Cine frames (ED and ES) are separate 3D volumes; slices are 5-10 mm apart."),
    Task(2, "emidec_heart_seg", "organ_seg", "EMIDEC", "independent", "heart (LGE)", ("LGE",),
         _classes(("LV_cavity", 1), ("myocardium", 2), ("infarct", 3), ("no_reflow", 4)), "dice",
         paper_figure=85.09,
         data_source="EMIDEC challenge, http://emidec.com",
         data_license="research use under the challenge's terms",
         reference="Lalande et al., Emidec: a database usable for the automatic evaluation of myocardial "
         "infarction from delayed-enhancement cardiac MRI, Data 5(4):89 (2020)"),
    Task(3, "mmwhs_heart_seg", "organ_seg", "MM-WHS (MR)", "independent", "heart", ("MR",),
         _classes(("LV_myocardium", 205), ("left_atrium", 420), ("LV_cavity", 500), ("right_atrium", 550),
                  ("RV_cavity", 600), ("ascending_aorta", 820), ("pulmonary_artery", 850)), "dice",
         paper_figure=73.12,
         data_source="MM-WHS 2017, https://zmiclab.github.io/zxh/0/mmwhs",
         data_license="research use under the challenge's terms",
         reference="Zhuang, IEEE TPAMI 41(12):2933-2946 (2018)",
         notes="A stray value 421 (left atrium) has been reported in some MM-WHS label files (unverified here); "
         "the label check rejects it, so relabel it to 420 first."),
    Task(4, "msd_heart_seg", "organ_seg", "MSD Task02 Heart", "external", "heart", ("MR",),
         _classes(("left_atrium", 1)), "dice",
         paper_note="best of all models (paper Fig. 2c)",
         source_task="mmwhs_heart_seg", label_mapping=(LabelMapping("left_atrium", ("left_atrium",)),),
         **_MSD),
    Task(5, "msd_hippocampus_seg", "organ_seg", "MSD Task04 Hippocampus", "independent", "brain", ("T1",),
         _classes(("anterior", 1), ("posterior", 2)), "dice",
         paper_figure=84.57,
         # The MSD hippocampus volumes are pre-cropped to about 35x50x35 mm around the structure: a
         # 64^3 window covers them; 96^3 would be two-thirds padding.
         roi_size=(64, 64, 64),
         **_MSD),
    Task(6, "dukebreast_breast_seg", "organ_seg", "Duke Breast Cancer MRI", "independent", "breast",
         ("T1_fatsat",),
         _classes(("breast", 1), ("fibroglandular_tissue", 2), ("vessels", 3)), "dice",
         paper_note="no figure in the main text",
         data_source="Duke-Breast-Cancer-MRI (TCIA), https://doi.org/10.7937/TCIA.e3sv-re93, with the 3D breast, "
         "FGT and vessel annotations of Lew et al.",
         data_license="CC BY-NC 4.0 (TCIA; verify)",
         reference="Lew et al., A publicly available deep learning model and dataset for segmentation of breast, "
         "fibroglandular tissue, and vessels in breast MRI, Scientific Reports 14:5383 (2024)",
         notes="The annotations come as a breast mask and a separate FGT/vessel mask; this layout assumes they "
         "are merged into one file with these values (project's convention, not the dataset's)."),
    Task(7, "amos_abdomen_seg", "organ_seg", "AMOS (MR)", "independent", "abdomen", ("MR",),
         _AMOS_MR_CLASSES, "dice",
         paper_figure=87.63,
         data_source="AMOS 2022, https://amos22.grand-challenge.org",
         data_license="CC BY 4.0",
         reference=_AMOS_REF,
         notes="AMOS MR scans annotate 13 organs: labels 14 (bladder) and 15 (prostate/uterus) exist only in CT."),
    Task(8, "chaos_abdomen_seg", "organ_seg", "CHAOS (MR)", "external", "abdomen", ("T2SPIR",),
         _classes(("liver", 63), ("right_kidney", 126), ("left_kidney", 189), ("spleen", 252)), "dice",
         paper_note="best of all models (paper Fig. 2c)",
         source_task="amos_abdomen_seg",
         label_mapping=(LabelMapping("liver", ("liver",)), LabelMapping("right_kidney", ("right_kidney",)),
                        LabelMapping("left_kidney", ("left_kidney",)), LabelMapping("spleen", ("spleen",))),
         data_source="CHAOS challenge, https://chaos.grand-challenge.org",
         data_license="CC BY-SA 4.0 (Zenodo record; verify)",
         reference="Kavur et al., CHAOS challenge, Medical Image Analysis 69:101950 (2021)",
         notes="CHAOS ships PNG slices whose grey values 63/126/189/252 mark the organs (published ranges "
         "55-70, 110-135, 175-200, 240-255); stack them into NIfTI with exactly these values."),
    Task(9, "atlas_liver_seg", "organ_seg", "ATLAS (liver)", "external", "abdomen", ("T1_CE",),
         # The tumour lies inside the liver and is labelled 2; the organ is the union of both.
         _classes(("liver", (1, 2))), "dice",
         paper_note="best of all models",
         source_task="amos_abdomen_seg", label_mapping=(LabelMapping("liver", ("liver",)),),
         **_ATLAS),
    Task(10, "pansegdata_pancreas_seg", "organ_seg", "PanSegData (MR)", "external", "abdomen", ("T1",),
         _classes(("pancreas", 1)), "dice",
         paper_note="best of all models",
         source_task="amos_abdomen_seg", label_mapping=(LabelMapping("pancreas", ("pancreas",)),),
         data_source="PanSegData, https://osf.io/kysnj",
         data_license="check the OSF record's terms",
         reference="Zhang et al., Large-scale multi-center CT and MRI segmentation of pancreas with deep learning, "
         "Medical Image Analysis 99:103382 (2025)",
         notes="PanSegData has T1W and T2W MR sets; the paper does not say which was used (T1W assumed)."),
    Task(11, "dukeliver_liver_seg", "organ_seg", "Duke Liver", "independent", "abdomen", ("MR",),
         _classes(("liver", 1)), "dice",
         paper_figure=75.70,
         data_source="Duke Liver Dataset, https://zenodo.org/records/7774566",
         data_license="check the Zenodo record's terms",
         reference="Macdonald et al., Radiology: Artificial Intelligence 5(5):e220275 (2022)",
         notes="Masks exist for several series types per patient; each series is one case."),
    Task(12, "msd_prostate_seg", "organ_seg", "MSD Task05 Prostate", "independent", "prostate", ("T2", "ADC"),
         _classes(("peripheral_zone", 1), ("transition_zone", 2)), "dice",
         paper_note="below SwinUNETR (paper section 2.1.1)",
         notes="MSD ships T2 and ADC as one 4D NIfTI; split it into one 3D file per sequence for the datalist.",
         **_MSD),
    Task(13, "promise12_prostate_seg", "organ_seg", "PROMISE12", "independent", "prostate", ("T2",),
         _classes(("prostate", 1)), "dice",
         paper_figure=85.18,
         data_source="PROMISE12, https://promise12.grand-challenge.org",
         data_license="research use under the challenge's terms",
         reference="Litjens et al., Medical Image Analysis 18(2):359-373 (2014)"),
    Task(14, "prostate158_gland_seg", "organ_seg", "Prostate158", "external", "prostate", ("T2",),
         # Prostate158 labels the zones (1 central gland / transition zone, 2 peripheral zone, as in the
         # dataset authors' MONAI model-zoo bundle); the PROMISE12 model predicts the whole gland: their union.
         _classes(("prostate", (1, 2))), "dice",
         paper_note="best of all models (+1.44 Dice over the runner-up)",
         source_task="promise12_prostate_seg", label_mapping=(LabelMapping("prostate", ("prostate",)),),
         **_P158),
    Task(15, "privateknee_knee_seg", "organ_seg", "Private-Knee_int", "held-out", "knee", ("PDW",),
         _classes(("femur", 1), ("tibia", 2), ("patella", 3), ("femoral_cartilage", 4),
                  ("tibial_cartilage", 5), ("patellar_cartilage", 6), ("meniscus", 7)), "dice",
         paper_figure=87.30, reference="Qiu et al. (PRISM paper)", **_PRIVATE_KNEE),
    Task(16, "oaizib_knee_seg", "organ_seg", "OAI-ZIB", "held-out", "knee", ("DESS",),
         _classes(("femur", 1), ("femoral_cartilage", 2), ("tibia", 3), ("tibial_cartilage", 4)), "dice",
         paper_figure=93.20,
         data_source="OAI-ZIB, https://pubdata.zib.de (images from the Osteoarthritis Initiative)",
         data_license="OAI data use agreement; ZIB annotations CC BY 4.0 (verify)",
         reference="Ambellan et al., Medical Image Analysis 52:109-118 (2019)"),
    Task(17, "skmtea_knee_seg", "organ_seg", "SKM-TEA", "independent", "knee", ("qDESS",),
         _classes(("patellar_cartilage", 1), ("femoral_cartilage", 2), ("tibial_cartilage_medial", 3),
                  ("tibial_cartilage_lateral", 4), ("meniscus_medial", 5), ("meniscus_lateral", 6)), "dice",
         paper_figure=88.99,
         data_source="SKM-TEA, https://github.com/StanfordMIMI/skm-tea",
         data_license="Stanford AIMI dataset research use agreement",
         reference="Desai et al., SKM-TEA: a dataset for accelerated MRI reconstruction with dense image labels "
         "for quantitative clinical evaluation, NeurIPS Datasets and Benchmarks (2021)",
         notes="Input is the root-sum-of-squares of the two qDESS echoes (project's choice)."),
    Task(18, "spider_spine_seg", "organ_seg", "SPIDER", "independent", "lumbar spine", ("T2",),
         # SPIDER numbers each vertebra 1-25 and each disc 201-225 (canal 100); merged into three classes.
         _classes(("vertebrae", tuple(range(1, 26))), ("spinal_canal", 100), ("discs", tuple(range(201, 226)))),
         "dice",
         paper_figure=90.91,
         data_source="SPIDER, https://zenodo.org/records/10159290",
         data_license="CC BY 4.0",
         reference="van der Graaf et al., Lumbar spine segmentation in MR images: a dataset and a public "
         "benchmark, Scientific Data 11:264 (2024)"),
    Task(19, "hanseg_oar_seg", "organ_seg", "HaN-Seg (MR)", "independent", "head and neck", ("T1",),
         _classes(*((n, i) for i, n in enumerate(_HANSEG_OARS, start=1))), "dice",
         paper_figure=77.18,
         data_source="HaN-Seg, https://zenodo.org/records/7442914",
         data_license="CC BY-NC-ND 4.0",
         reference="Podobnik et al., HaN-Seg, Medical Physics 50(3):1917-1927 (2023)",
         notes="Masks are per organ and in CT space: register the MR to the CT and merge them with these values."),
    Task(20, "totalsegmr_body_seg", "organ_seg", "TotalSegmentator MRI", "independent", "whole body", ("MR",),
         _classes(*((n, i) for i, n in enumerate(_TOTALSEG_MR, start=1))), "dice",
         paper_note="no figure in the main text",
         data_source="TotalSegmentator MRI dataset, https://zenodo.org/records/14710732",
         data_license="CC BY 4.0 (verify on the record)",
         reference="D'Antonoli et al., TotalSegmentator MRI: sequence-independent segmentation of 59 anatomical "
         "structures in MR images, arXiv:2405.19492 (2024)",
         notes="Class layout of TotalSegmentator >= 2.5 'total_mr' (56 classes); older releases differ."),
    # ---------------------------------------------------------------- lesion segmentation (21-25)
    Task(21, "brats2021_tumour_seg", "lesion_seg", "BraTS 2021", "independent", "brain",
         ("T1", "T1ce", "T2", "FLAIR"),
         _classes(("NCR", 1), ("ED", 2), ("ET", 4)), "dice",
         paper_figure=90.58,
         regions=(LabelRegion("TC", ("NCR", "ET")), LabelRegion("WT", ("NCR", "ED", "ET")),
                  LabelRegion("ET", ("ET",))),
         data_source="BraTS 2021 (RSNA-ASNR-MICCAI), https://www.synapse.org/brats2021",
         data_license="challenge data use terms (Synapse)",
         reference="Baid et al., The RSNA-ASNR-MICCAI BraTS 2021 benchmark, arXiv:2107.02314 (2021)"),
    Task(22, "mamamia_tumour_seg", "lesion_seg", "MAMA-MIA", "independent", "breast", ("DCE_post1",),
         _classes(("tumour", 1)), "dice",
         paper_figure=77.56,
         data_source="MAMA-MIA, https://doi.org/10.7303/syn60868042",
         data_license="CC BY-NC 4.0 (verify on Synapse)",
         reference="Garrucho et al., A large-scale multicenter breast cancer DCE-MRI benchmark dataset with "
         "expert segmentations, Scientific Data 12:453 (2025)",
         notes="Input is the first post-contrast phase (project's choice; the paper does not say)."),
    Task(23, "picai_lesion_seg", "lesion_seg", "PI-CAI", "held-out", "prostate", ("T2", "ADC", "HBV"),
         _classes(("csPCa", 1)), "dice",
         paper_figure=77.14,
         data_source="PI-CAI public training data, https://pi-cai.grand-challenge.org",
         data_license="CC BY-NC 4.0",
         reference="Saha et al., Artificial intelligence and radiologists in prostate cancer detection on MRI "
         "(PI-CAI), Lancet Oncology 25(7):879-887 (2024)",
         notes="ADC and HBV are resampled onto the T2 grid by the bundle."),
    Task(24, "prostate158_lesion_seg", "lesion_seg", "Prostate158", "independent", "prostate",
         ("T2", "ADC", "DWI"),
         _classes(("tumour", 1)), "dice",
         paper_figure=88.76, **_P158),
    Task(25, "atlas_tumour_seg", "lesion_seg", "ATLAS (liver)", "independent", "liver", ("T1_CE",),
         _classes(("tumour", 2)), "dice",
         paper_figure=77.38,
         background_values=(0, 1),  # liver (1) counts as background for the tumour task
         **_ATLAS),
    # ---------------------------------------------------------------- classification (26-38)
    Task(26, "lldmmri_liver_abn", "abnormality", "LLD-MMRI", "independent", "liver",
         ("T1_pre", "T1_arterial", "T1_venous", "T1_delay", "T2", "DWI", "T1_in_phase", "T1_out_phase"),
         _binary("HCC", "ICC", "metastasis", "cyst", "hemangioma", "FNH", "abscess"), "accuracy",
         paper_note="no figure in the main text",
         data_source="LLD-MMRI 2023, https://github.com/LMMMEng/LLD-MMRI-Dataset"),
    Task(27, "mrnet_knee_abn", "abnormality", "MRNet", "independent", "knee",
         ("sagittal", "coronal", "axial"),
         _binary("abnormal", "ACL_tear", "meniscal_tear"), "accuracy", paper_figure=80.05,
         data_source="MRNet, https://stanfordmlgroup.github.io/competitions/mrnet"),
    Task(28, "privateknee_int_abn", "abnormality", "Private-Knee_int", "held-out", "knee", ("PDW",),
         (), "accuracy", paper_figure=80.88, **_PRIVATE_KNEE),
    Task(29, "privateknee_ext_abn", "abnormality", "Private-Knee_ext", "external", "knee", ("PDW",),
         (), "accuracy", paper_figure=71.82, **_PRIVATE_KNEE),
    Task(30, "adni_ad_grade", "grading", "ADNI", "held-out", "brain", ("T1",),
         _binary("CN", "MCI", "AD"), "accuracy", paper_figure=88.42, data_source="ADNI, https://adni.loni.usc.edu"),
    Task(31, "careliver_fibrosis_grade", "grading", "CARE-Liver", "independent", "liver", ("MR",),
         (), "accuracy", paper_figure=79.86, notes="Stage classes not listed here: unsure of the split used."),
    Task(32, "oai_kl_grade", "grading", "OAI", "held-out", "knee", ("DESS",),
         _binary("KL0", "KL1", "KL2", "KL3", "KL4"), "accuracy", paper_figure=64.20,
         data_source="Osteoarthritis Initiative, https://nda.nih.gov/oai"),
    Task(33, "oasis3_dementia_grade", "grading", "OASIS-3", "held-out", "brain", ("T1",),
         (), "accuracy", paper_figure=85.05, data_source="OASIS-3, https://sites.wustl.edu/oasisbrains",
         notes="Dementia stage from CDR; the paper does not give the class split."),
    Task(34, "picai_isup_grade", "grading", "PI-CAI", "held-out", "prostate", ("T2", "ADC", "HBV"),
         (), "accuracy", paper_figure=86.78, data_source="PI-CAI, https://pi-cai.grand-challenge.org",
         notes="Cancer grade (ISUP); the paper does not give the class split."),
    Task(35, "ppmi_parkinson_grade", "grading", "PPMI", "independent", "brain", ("T1",),
         (), "accuracy", paper_figure=71.75, data_source="PPMI, https://www.ppmi-info.org"),
    Task(36, "adni_ad_prog", "progression", "ADNI", "held-out", "brain", ("T1",),
         _binary("CN", "MCI", "AD"), "accuracy", paper_figure=77.34, data_source="ADNI, https://adni.loni.usc.edu",
         notes="Stage at 12 and 24 months from the baseline scan."),
    Task(37, "oai_kl_prog", "progression", "OAI", "held-out", "knee", ("DESS",),
         _binary("KL0", "KL1", "KL2", "KL3", "KL4"), "accuracy", paper_figure=63.62,
         data_source="Osteoarthritis Initiative, https://nda.nih.gov/oai"),
    Task(38, "dukeliver_series_seqid", "sequence_id", "Duke Liver", "independent", "abdomen", ("MR",),
         (), "accuracy", paper_figure=78.21, data_source="Duke Liver Dataset, https://zenodo.org/records/7774566",
         notes="Series-type classes as labelled in the dataset."),
    # ---------------------------------------------------------------- regression, registration, report
    Task(39, "adni_brain_age", "age", "ADNI", "held-out", "brain", ("T1",), (), "mae", paper_figure=2.479),
    Task(40, "oasis3_brain_age", "age", "OASIS-3", "held-out", "brain", ("T1",), (), "mae", paper_figure=2.276),
    Task(41, "openbhb_brain_age", "age", "OpenBHB", "independent", "brain", ("T1",), (), "mae",
         paper_figure=3.417, reference="Dufumier et al., NeuroImage 263:119637 (2022)"),
    Task(42, "ixi_t1pd_reg", "registration", "IXI", "independent", "brain", ("T1", "T2", "PD"), (), "dice",
         paper_figure=74.21, data_source="IXI, https://brain-development.org/ixi-dataset",
         notes="T1 registered to T2 and PD; Dice of warped anatomical labels."),
    Task(43, "oasis1_brain_reg", "registration", "OASIS-1", "held-out", "brain", ("T1",), (), "dice",
         paper_figure=86.78),
    Task(44, "privateknee_findings_report", "report", "Private-Knee_int", "held-out", "knee", ("PDW",), (),
         "bleu", paper_figure=30.84, paper_note="BLEU-1; also BLEU-2..4, METEOR, ROUGE-L", **_PRIVATE_KNEE),
)  # fmt: skip

_BY_NAME: dict[str, Task] = {t.name: t for t in TASKS}


def get_task(name: str) -> Task:
    """The task called ``name`` (with or without the ``prism_`` bundle prefix).

    Raises:
        ValueError: for an unknown name, suggesting the closest one.
    """
    key = name[len("prism_"):] if name.startswith("prism_") else name
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3, cutoff=0.3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"Unknown task {name!r}.{hint} `prism tasks` lists all {len(TASKS)} tasks.")


def list_tasks(
    pattern: str = "*", family: str | None = None, cohort: str | None = None, segmentation: bool | None = None
) -> list[Task]:
    """Tasks whose name matches the fnmatch ``pattern`` and the given family, cohort and kind, in paper order."""
    if family is not None:
        family = look_up_option(family, tuple(FAMILIES))
    return [
        t
        for t in TASKS
        if fnmatch.fnmatch(t.name, pattern)
        and (family is None or t.family == family)
        and (cohort is None or t.cohort == cohort)
        and (segmentation is None or t.is_segmentation == segmentation)
    ]


def tasks_command(pattern: str = "*", family: str | None = None, cohort: str | None = None) -> None:
    """Print the registered tasks (``prism tasks``): number, bundle name, dataset, cohort, inputs, paper figure."""
    for t in list_tasks(pattern, family=family, cohort=cohort):
        figure = f"{t.paper_figure:g}" if t.paper_figure is not None else (t.paper_note or "-")
        print(f"{t.number:2d}  {t.bundle_name:34s} {t.dataset:24s} {t.cohort:11s} {'+'.join(t.channels):24s} {figure}")
