"""MR tissue properties and signal equations for the simulator.

The equations are the textbook steady-state signals (spin echo, inversion recovery, spoiled gradient echo,
diffusion weighting, T1 shortening by gadolinium). Tissue values for white matter, grey matter, CSF, fat and
muscle are published measurements (sources next to each table); values marked *assumption* are ours, chosen
to give plausible contrast, and must not be read as measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "TISSUES",
    "FIELD_STRENGTHS",
    "TissueProperties",
    "tissue_table",
    "relaxivity",
    "spin_echo",
    "inversion_recovery",
    "spoiled_gradient_echo",
    "diffusion_weighting",
    "inversion_null",
    "plasma_concentration",
    "tissue_concentration",
    "PK_PARAMETERS",
]

# Order of the tissue channels everywhere in the simulator; tissue label = index + 1 (0 is air).
TISSUES: tuple[str, ...] = ("csf", "gm", "wm", "fat", "bone", "skin", "lesion")
FIELD_STRENGTHS: tuple[float, ...] = (1.5, 3.0)


@dataclass(frozen=True)
class TissueProperties:
    """Relaxation and diffusion properties of one tissue at one field strength.

    Args:
        pd: proton density relative to CSF (1.0).
        t1: longitudinal relaxation time, ms.
        t2: transverse relaxation time, ms.
        t2s: effective transverse relaxation time T2*, ms (gradient echo).
        adc: apparent diffusion coefficient, um^2/ms (= 1e-3 mm^2/s).
    """

    pd: float
    t1: float
    t2: float
    t2s: float
    adc: float


# T1 WM/GM/CSF: Rooney et al., MRM 57:308 (2007). T2 WM/GM: Stanisz et al., MRM 54:507 (2005).
# T2* WM/GM: Peters et al., MRI 25:748 (2007). Fat and muscle T1/T2: de Bazelaire et al., Radiology 230:652
# (2004). CSF T2 ~2000 ms, relative PD (WM 0.69, GM 0.80, CSF 1.0) and ADC (WM 0.70, GM 0.83, CSF 3.0): usual
# literature values. Assumptions (ours): CSF T2*; fat PD, T2*, ADC; all bone values (cortical bone: very short
# T2, little mobile water, hence near-zero signal); skin/muscle PD, T2*, ADC; all lesion values (an oedematous
# lesion: longer T1 and T2 than white matter, raised ADC).
_TABLE: dict[float, dict[str, TissueProperties]] = {
    1.5: {
        "csf": TissueProperties(pd=1.00, t1=4329.0, t2=2000.0, t2s=1000.0, adc=3.00),
        "gm": TissueProperties(pd=0.80, t1=1188.0, t2=95.0, t2s=84.0, adc=0.83),
        "wm": TissueProperties(pd=0.69, t1=656.0, t2=72.0, t2s=66.2, adc=0.70),
        "fat": TissueProperties(pd=0.90, t1=343.0, t2=58.0, t2s=35.0, adc=0.01),
        "bone": TissueProperties(pd=0.05, t1=300.0, t2=1.0, t2s=0.5, adc=0.30),
        "skin": TissueProperties(pd=0.75, t1=1008.0, t2=44.0, t2s=30.0, adc=1.50),
        "lesion": TissueProperties(pd=0.86, t1=1100.0, t2=160.0, t2s=120.0, adc=1.20),
    },
    3.0: {
        "csf": TissueProperties(pd=1.00, t1=4163.0, t2=2000.0, t2s=800.0, adc=3.00),
        "gm": TissueProperties(pd=0.80, t1=1607.0, t2=99.0, t2s=66.0, adc=0.83),
        "wm": TissueProperties(pd=0.69, t1=838.0, t2=69.0, t2s=53.2, adc=0.70),
        "fat": TissueProperties(pd=0.90, t1=382.0, t2=68.0, t2s=30.0, adc=0.01),
        "bone": TissueProperties(pd=0.05, t1=350.0, t2=1.0, t2s=0.4, adc=0.30),
        "skin": TissueProperties(pd=0.75, t1=1412.0, t2=50.0, t2s=25.0, adc=1.50),
        "lesion": TissueProperties(pd=0.86, t1=1400.0, t2=150.0, t2s=100.0, adc=1.20),
    },
}

# Gadolinium longitudinal relaxivity r1 in 1/(s mM): Rohrer et al., Invest Radiol 40:715 (2005).
_RELAXIVITY: dict[float, float] = {1.5: 4.1, 3.0: 3.7}

# Extended Tofts pharmacokinetics per tissue: (Ktrans 1/min, ve, vp). Assumptions (ours): an intact
# blood-brain barrier keeps Ktrans = 0 in brain, whose enhancement is then only its blood volume (vp ~ CBV);
# the lesion has a leaky barrier (enhancing lesion); muscle/skin and fat enhance mildly.
PK_PARAMETERS: dict[str, tuple[float, float, float]] = {
    "csf": (0.0, 0.0, 0.0),
    "gm": (0.0, 0.0, 0.04),
    "wm": (0.0, 0.0, 0.02),
    "fat": (0.02, 0.10, 0.01),
    "bone": (0.0, 0.0, 0.0),
    "skin": (0.05, 0.15, 0.02),
    "lesion": (0.10, 0.30, 0.05),
}


def _check_field(field_strength: float) -> float:
    field = float(field_strength)
    if field not in _TABLE:
        raise ValueError(f"field_strength must be one of {FIELD_STRENGTHS} T, got {field_strength}.")
    return field


def tissue_table(field_strength: float) -> dict[str, np.ndarray]:
    """Tissue properties at ``field_strength`` as arrays over :data:`TISSUES`.

    Returns:
        dict with keys ``pd``, ``t1``, ``t2``, ``t2s``, ``adc``, each a float64 array of shape (len(TISSUES),).
    """
    table = _TABLE[_check_field(field_strength)]
    return {
        name: np.array([getattr(table[t], name) for t in TISSUES], dtype=np.float64)
        for name in ("pd", "t1", "t2", "t2s", "adc")
    }


def relaxivity(field_strength: float) -> float:
    """Gadolinium r1 in 1/(s mM) at ``field_strength``."""
    return _RELAXIVITY[_check_field(field_strength)]


def spin_echo(pd: np.ndarray, t1: np.ndarray, t2: np.ndarray, tr: float, te: float) -> np.ndarray:
    """Spin-echo signal: PD (1 - 2 exp(-(TR - TE/2)/T1) + exp(-TR/T1)) exp(-TE/T2); times in ms.

    Short TR leaves long-T1 tissue (CSF) unrecovered (T1 weighting); long TE lets short-T2 tissue decay
    (T2 weighting).
    """
    recovery = 1.0 - 2.0 * np.exp(-(tr - te / 2.0) / t1) + np.exp(-tr / t1)
    return pd * recovery * np.exp(-te / t2)


def inversion_recovery(
    pd: np.ndarray, t1: np.ndarray, t2: np.ndarray, tr: float, te: float, ti: float
) -> np.ndarray:
    """Signed inversion-recovery signal PD (1 - 2 exp(-TI/T1) + exp(-TR/T1)) exp(-TE/T2); times in ms.

    The sign is kept so that partial-volume mixing happens before the magnitude is taken, as in a real
    magnitude image. A tissue whose longitudinal magnetisation crosses zero at TI is nulled (FLAIR: CSF;
    STIR: fat).
    """
    return pd * (1.0 - 2.0 * np.exp(-ti / t1) + np.exp(-tr / t1)) * np.exp(-te / t2)


def inversion_null(t1: float, tr: float) -> float:
    """Inversion time (ms) that nulls a tissue of longitudinal relaxation ``t1`` at repetition ``tr``."""
    return float(t1 * np.log(2.0 / (1.0 + np.exp(-tr / t1))))


def spoiled_gradient_echo(
    pd: np.ndarray, t1: np.ndarray, t2s: np.ndarray, tr: float, te: float, flip_angle: float
) -> np.ndarray:
    """Spoiled gradient-echo (FLASH/SPGR) steady state; times in ms, flip angle in degrees.

    S = PD sin(a) (1 - E1) / (1 - cos(a) E1) exp(-TE/T2*), E1 = exp(-TR/T1). With TR << T1 the signal is
    driven by T1 (short T1 bright); spoiling removes transverse coherence, so T2* only enters through TE.
    """
    alpha = np.deg2rad(flip_angle)
    e1 = np.exp(-tr / t1)
    return pd * np.sin(alpha) * (1.0 - e1) / (1.0 - np.cos(alpha) * e1) * np.exp(-te / t2s)


def diffusion_weighting(adc: np.ndarray, b_value: float) -> np.ndarray:
    """Attenuation exp(-b ADC) of a diffusion-weighted echo; b in s/mm^2, ADC in um^2/ms (1e-3 mm^2/s)."""
    return np.exp(-b_value * adc * 1e-3)


# Bi-exponential plasma curve after a bolus of 0.1 mmol/kg (Weinmann et al., 1984, as used by Tofts and
# Kermode, MRM 17:357 (1991)): Cp(t) = D sum_i a_i exp(-m_i t), t in minutes, Cp in mM.
_AIF_DOSE = 0.1
_AIF_A = (3.99, 4.78)
_AIF_M = (0.144, 0.0111)


def plasma_concentration(t_min: float) -> float:
    """Gadolinium plasma concentration (mM) ``t_min`` minutes after an instantaneous bolus."""
    return float(sum(_AIF_DOSE * a * np.exp(-m * t_min) for a, m in zip(_AIF_A, _AIF_M)))


def tissue_concentration(t_min: float, ktrans: float, ve: float, vp: float) -> float:
    """Extended Tofts tissue concentration (mM): vp Cp(t) + Ktrans (Cp * exp(-kep t))(t), kep = Ktrans / ve.

    The convolution of the bi-exponential plasma curve with the exponential residue has a closed form.
    """
    vascular = vp * plasma_concentration(t_min)
    if ktrans <= 0.0 or ve <= 0.0:
        return float(vascular)
    kep = ktrans / ve
    leak = 0.0
    for a, m in zip(_AIF_A, _AIF_M):
        if abs(kep - m) < 1e-9:
            leak += _AIF_DOSE * a * t_min * np.exp(-m * t_min)
        else:
            leak += _AIF_DOSE * a * (np.exp(-m * t_min) - np.exp(-kep * t_min)) / (kep - m)
    return float(vascular + ktrans * leak)
