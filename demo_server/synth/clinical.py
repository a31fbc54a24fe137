"""Clinical scenarios: what each synthetic case is about.

A scenario fixes the diagnosis, the referring doctor's question, the questions the
patient wants answered, the shape of the lab results over time and the imaging that
comes with the case. The imaging per specialty is fixed so that the first four cases
(one per specialty) together hold every modality and transfer syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

SPECIALTIES = ("oncology", "cardiology", "neurology", "orthopaedics")

# SNOMED CT "specialty" concepts, used as Task.performerType and ServiceRequest.performerType.
SPECIALTY_CODES = {
    "oncology": ("394593009", "Medical oncology"),
    "cardiology": ("394579002", "Cardiology"),
    "neurology": ("394591006", "Neurology"),
    "orthopaedics": ("394801008", "Trauma & orthopaedics"),
}

# Series kinds per specialty (see imaging.KINDS).
IMAGING = {
    "oncology": ("ct-body", "mr-liver"),
    "cardiology": ("mr-cardiac", "us-cardiac"),
    "neurology": ("mr-brain", "ct-head"),
    "orthopaedics": ("cr-knee", "mr-knee"),
}


@dataclass(frozen=True)
class Qualitative:
    """A lab result reported as text ("positive", "negative") at one visit."""

    loinc: str
    display: str
    panel: str
    at: float  # 0 = first visit, 1 = last visit
    value: str
    abnormal: bool


@dataclass(frozen=True)
class Scenario:
    """One clinical story a case can tell."""

    specialty: str
    diagnosis: str
    clinical_question: str
    background: str
    patient_questions: tuple[str, ...]
    panels: tuple[str, ...]
    # Lab key -> ((t, value), ...): the value follows these points (t from 0 to 1 over
    # the months of follow-up); keys not listed stay around the middle of their range.
    courses: dict[str, tuple[tuple[float, float], ...]]
    medication: tuple[str, ...]
    pathology: str
    imaging_findings: str
    discharge: str
    qualitative: tuple[Qualitative, ...] = ()
    sex: str | None = None

    @property
    def imaging(self) -> tuple[str, ...]:
        return IMAGING[self.specialty]


_FOBT = "Hemoglobin.gastrointestinal [Presence] in Stool"
_URINE_GLUCOSE = "Glucose [Mass/volume] in Urine by Test strip"

SCENARIOS: dict[str, tuple[Scenario, ...]] = {
    "oncology": (
        Scenario(
            specialty="oncology",
            diagnosis="Adenocarcinoma of the sigmoid colon, pT3 pN1a M0, after sigmoid "
            "resection and four cycles of adjuvant CAPOX",
            clinical_question="Is the new 11 mm lesion in liver segment VII a metastasis, "
            "and would you recommend resection, ablation or further systemic therapy?",
            background="CEA has risen steadily over the last four months after a normal "
            "post-operative nadir. The patient is fit (ECOG 0) and keen on active treatment.",
            patient_questions=(
                "Has the cancer come back?",
                "Can the liver spot be removed with an operation?",
                "Will I need chemotherapy again, and will I lose my hair this time?",
                "Can I still travel to my daughter's wedding in three months?",
            ),
            panels=("cbc", "metabolic", "tumour-gi", "inflammation"),
            courses={
                "cea": ((0, 14.0), (0.2, 2.1), (0.55, 1.8), (0.8, 4.6), (1, 9.8)),
                "ca19-9": ((0, 61.0), (0.3, 22.0), (0.7, 25.0), (1, 48.0)),
                "hb": ((0, 10.6), (0.25, 11.2), (0.5, 12.6), (1, 12.9)),
                "plt": ((0, 420.0), (0.4, 135.0), (0.6, 190.0), (1, 240.0)),
            },
            medication=(
                "Capecitabine (completed)",
                "Oxaliplatin (completed)",
                "Pantoprazole 20 mg daily",
            ),
            pathology="Moderately differentiated adenocarcinoma invading through the "
            "muscularis propria into pericolic fat (pT3). 2 of 17 regional lymph nodes "
            "involved (pN1a). Resection margins clear (distal 42 mm). RAS wild type, "
            "BRAF V600E not detected, mismatch repair proficient.",
            imaging_findings="New hypodense lesion in segment VII measuring 11 x 9 mm with "
            "faint rim enhancement. No other hepatic lesions. No lymphadenopathy. "
            "Lungs clear. Post-operative changes at the sigmoid anastomosis.",
            discharge="Uneventful recovery after laparoscopic sigmoid resection. Diet "
            "resumed on day 2, discharged on day 5 with oncology follow-up.",
            qualitative=(Qualitative("2335-8", _FOBT, "tumour-gi", 0.0, "positive", True),),
        ),
        Scenario(
            specialty="oncology",
            diagnosis="Adenocarcinoma of the prostate, Gleason 4+3 (grade group 3), pT2c "
            "N0, after radical prostatectomy; biochemical recurrence",
            clinical_question="Does the PSA kinetics justify early salvage radiotherapy, "
            "and is there any imaging evidence of local or nodal recurrence?",
            background="PSA was undetectable for 14 months after surgery and is now rising "
            "with a doubling time of about five months.",
            patient_questions=(
                "Is the cancer growing again?",
                "What are the side effects of radiotherapy on the bladder?",
                "Do I need hormone injections?",
            ),
            panels=("cbc", "metabolic", "tumour-prostate", "lipids"),
            courses={
                "psa": ((0, 0.04), (0.35, 0.05), (0.6, 0.14), (0.8, 0.26), (1, 0.52)),
                "ldl": ((0, 162.0), (1, 131.0)),
            },
            medication=(
                "Tamsulosin 0.4 mg daily (stopped after surgery)",
                "Atorvastatin 20 mg daily",
            ),
            pathology="Acinar adenocarcinoma, Gleason score 4+3=7, bilateral (pT2c). "
            "No extraprostatic extension, seminal vesicles free, margins negative. "
            "0 of 12 pelvic lymph nodes involved.",
            imaging_findings="Post-prostatectomy bed without nodular enhancement. No "
            "enlarged pelvic or retroperitoneal lymph nodes. No focal bone lesion. "
            "Simple hepatic cyst in segment IVb.",
            discharge="Robot-assisted radical prostatectomy with pelvic lymph node "
            "dissection. Catheter removed on day 7. Continent at discharge.",
            sex="male",
        ),
    ),
    "cardiology": (
        Scenario(
            specialty="cardiology",
            diagnosis="Heart failure with reduced ejection fraction (LVEF 30 %) after "
            "anterior ST-elevation myocardial infarction",
            clinical_question="After four months of optimised medical therapy, is a "
            "primary-prevention ICD (or CRT-D) indicated?",
            background="LAD stented 5 months ago. NT-proBNP has fallen but remains high. "
            "QRS duration 128 ms, NYHA class II.",
            patient_questions=(
                "Is my heart getting stronger?",
                "Will a defibrillator stop me from driving?",
                "Can I go back to work as a carpenter?",
                "Do I have to take all these tablets for life?",
            ),
            panels=("cbc", "metabolic", "cardiac", "lipids"),
            courses={
                "ntprobnp": ((0, 5400.0), (0.3, 2900.0), (0.7, 1600.0), (1, 1250.0)),
                "troponin": ((0, 18.5), (0.05, 2.1), (0.15, 0.004), (1, 0.004)),
                "ldl": ((0, 148.0), (0.4, 88.0), (1, 62.0)),
                "creatinine": ((0, 1.1), (0.5, 1.35), (1, 1.42)),
                "potassium": ((0, 4.2), (0.6, 5.3), (0.8, 6.2), (1, 5.0)),
            },
            medication=(
                "Sacubitril/valsartan 49/51 mg twice daily",
                "Bisoprolol 5 mg daily",
                "Eplerenone 25 mg daily",
                "Dapagliflozin 10 mg daily",
                "Aspirin 100 mg daily",
                "Ticagrelor 90 mg twice daily",
                "Atorvastatin 80 mg daily",
            ),
            pathology="Not applicable.",
            imaging_findings="Dilated left ventricle (LVEDV 210 ml) with akinesia of the "
            "anterior wall and apex. LVEF 30 %. Transmural late gadolinium enhancement "
            "in the LAD territory. No thrombus.",
            discharge="Primary PCI of the proximal LAD with one drug-eluting stent. Peak "
            "troponin I 48 ng/mL. Discharged on day 6 on guideline-directed therapy.",
        ),
        Scenario(
            specialty="cardiology",
            diagnosis="Hypertrophic obstructive cardiomyopathy, maximal septal thickness "
            "21 mm, resting LVOT gradient 64 mmHg",
            clinical_question="Symptoms persist despite beta-blocker and verapamil: would "
            "you recommend myosin inhibitor therapy, alcohol septal ablation or myectomy?",
            background="Exertional dyspnoea NYHA III and one episode of presyncope. "
            "Family history of sudden cardiac death (father, aged 44).",
            patient_questions=(
                "Should my children be tested?",
                "Is it safe to keep cycling?",
                "What does the operation involve?",
            ),
            panels=("metabolic", "cardiac", "lipids", "diabetes"),
            courses={
                "ntprobnp": ((0, 980.0), (0.5, 1150.0), (1, 1320.0)),
                "hba1c": ((0, 6.1), (1, 6.4)),
                "troponin": ((0, 0.006), (0.3, 0.012), (0.6, 0.05), (1, 0.03)),
            },
            medication=("Bisoprolol 10 mg daily", "Verapamil 120 mg twice daily"),
            pathology="Not applicable.",
            imaging_findings="Asymmetric septal hypertrophy 21 mm with systolic anterior "
            "motion of the mitral valve. Patchy mid-wall late enhancement in the septum. "
            "LVEF 72 %.",
            discharge="Admitted for presyncope on exertion. Holter: non-sustained VT "
            "(6 beats). Discharged after up-titration of beta-blocker.",
        ),
    ),
    "neurology": (
        Scenario(
            specialty="neurology",
            diagnosis="Relapsing-remitting multiple sclerosis, diagnosed 3 years ago, on "
            "dimethyl fumarate",
            clinical_question="Does the interval MRI show disease activity that justifies "
            "escalation to a high-efficacy therapy?",
            background="One sensory relapse 7 months ago with full recovery. EDSS 1.5. "
            "Lymphocyte counts have been low on treatment.",
            patient_questions=(
                "Are there new spots in my brain?",
                "Is the new treatment safe if I want to get pregnant?",
                "Will I end up in a wheelchair?",
            ),
            panels=("cbc", "metabolic", "inflammation"),
            courses={
                "wbc": ((0, 5.8), (0.5, 3.6), (1, 3.2)),
                "alt": ((0, 28.0), (0.4, 71.0), (0.7, 48.0), (1, 35.0)),
                "crp": ((0, 0.4), (0.5, 0.2), (1, 0.25)),
            },
            medication=("Dimethyl fumarate 240 mg twice daily", "Vitamin D3 2000 IU daily"),
            pathology="Not applicable.",
            imaging_findings="Multiple periventricular and juxtacortical T2 hyperintense "
            "lesions, two of them new compared with the prior study (right centrum "
            "semiovale 6 mm, left frontal juxtacortical 4 mm). No gadolinium-enhancing "
            "lesion. No brain atrophy beyond age.",
            discharge="Admitted for three days of intravenous methylprednisolone for a "
            "sensory relapse (left arm). Symptoms resolved by discharge.",
        ),
        Scenario(
            specialty="neurology",
            diagnosis="Minor ischaemic stroke in the left MCA territory 10 weeks ago; "
            "type 2 diabetes; hypertension",
            clinical_question="Is the stroke more likely cardioembolic or small-vessel, "
            "and is long-term monitoring for atrial fibrillation or anticoagulation "
            "warranted?",
            background="72-hour Holter showed no atrial fibrillation. Carotid duplex: "
            "less than 30 % stenosis on both sides. Residual mild dysphasia.",
            patient_questions=(
                "Why did this happen to me?",
                "Should I take blood thinners?",
                "When can I drive again?",
                "Will my speech recover completely?",
            ),
            panels=("cbc", "metabolic", "lipids", "diabetes", "cardiac"),
            courses={
                "hba1c": ((0, 8.9), (0.5, 7.8), (1, 7.1)),
                "glucose": ((0, 212.0), (0.5, 150.0), (1, 128.0)),
                "ldl": ((0, 171.0), (0.5, 96.0), (1, 68.0)),
                "troponin": ((0, 0.004), (1, 0.004)),
                "ntprobnp": ((0, 310.0), (1, 240.0)),
            },
            medication=(
                "Aspirin 100 mg daily",
                "Atorvastatin 80 mg daily",
                "Metformin 1000 mg twice daily",
                "Ramipril 5 mg daily",
            ),
            pathology="Not applicable.",
            imaging_findings="Small cortical-subcortical infarct in the left insula and "
            "frontal operculum, subacute. Moderate periventricular white matter "
            "hyperintensities (Fazekas 2). No haemorrhage. Vessels patent.",
            discharge="Thrombolysis not given (minor deficit, late presentation). "
            "Stroke unit for 4 days; dysphasia improving; discharged home.",
            qualitative=(
                Qualitative("5792-7", _URINE_GLUCOSE, "urinalysis", 0.0, "positive", True),
            ),
        ),
    ),
    "orthopaedics": (
        Scenario(
            specialty="orthopaedics",
            diagnosis="Advanced medial compartment osteoarthritis of the right knee "
            "(Kellgren-Lawrence grade 4) with varus deformity of 9 degrees",
            clinical_question="Would you favour a unicompartmental or a total knee "
            "replacement, given the MRI findings in the lateral compartment and the ACL?",
            background="Pain at night despite physiotherapy, weight loss and two steroid "
            "injections. Walking distance 500 m. BMI 31.",
            patient_questions=(
                "How long does a new knee last?",
                "How long will I be off work?",
                "Can I kneel in the garden after the operation?",
            ),
            panels=("cbc", "metabolic", "diabetes", "inflammation"),
            courses={
                "hba1c": ((0, 6.9), (1, 6.6)),
                "crp": ((0, 3.5), (0.5, 6.1), (1, 4.2)),
            },
            medication=(
                "Ibuprofen 400 mg as needed",
                "Paracetamol 1 g up to four times daily",
                "Metformin 500 mg twice daily",
            ),
            pathology="Not applicable.",
            imaging_findings="Full-thickness cartilage loss in the medial femorotibial "
            "compartment with subchondral bone marrow oedema. Degenerate, extruded medial "
            "meniscus. Lateral compartment cartilage preserved. ACL intact.",
            discharge="Day-case arthroscopy 2 years ago (partial medial meniscectomy). "
            "No complications.",
            qualitative=(
                Qualitative("5792-7", _URINE_GLUCOSE, "urinalysis", 1.0, "negative", False),
            ),
        ),
        Scenario(
            specialty="orthopaedics",
            diagnosis="Painful right total knee arthroplasty 14 months after surgery; "
            "suspected periprosthetic joint infection",
            clinical_question="Do the findings meet the criteria for periprosthetic joint "
            "infection, and would you recommend one-stage or two-stage revision?",
            background="Persistent warmth and effusion since a wound-healing problem in "
            "the second post-operative week. Aspiration: 2900 leucocytes/uL, culture "
            "pending.",
            patient_questions=(
                "Does the whole knee have to come out?",
                "How long will I need antibiotics?",
                "Could the infection spread to my other joints?",
            ),
            panels=("cbc", "metabolic", "inflammation"),
            courses={
                "crp": ((0, 96.0), (0.2, 18.0), (0.5, 14.0), (0.8, 21.0), (1, 27.0)),
                "wbc": ((0, 13.4), (0.3, 9.2), (1, 10.6)),
                "hb": ((0, 9.8), (0.3, 11.4), (1, 12.1)),
            },
            medication=(
                "Paracetamol 1 g up to four times daily",
                "Apixaban 2.5 mg twice daily (stopped after 5 weeks)",
            ),
            pathology="Periprosthetic tissue: more than 5 neutrophils per high-power "
            "field in 5 fields, consistent with infection. Cultures: "
            "Staphylococcus epidermidis in 2 of 5 samples.",
            imaging_findings="Radiolucent line under 2 mm at the tibial component, new "
            "compared with the post-operative film. Joint effusion. No fracture.",
            discharge="Primary cemented total knee arthroplasty. Wound drainage on day 9 "
            "treated with oral antibiotics. Discharged on day 12.",
            qualitative=(
                Qualitative("5792-7", _URINE_GLUCOSE, "urinalysis", 0.0, "negative", False),
            ),
        ),
    ),
}


def choose_scenario(specialty: str, variant: int) -> Scenario:
    """The scenario for a specialty; `variant` cycles through the available stories."""
    options = SCENARIOS[specialty]
    return options[variant % len(options)]
