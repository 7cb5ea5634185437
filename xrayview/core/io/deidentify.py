"""De-identification of a derived DICOM after PS3.15 Annex E, Basic Profile.

``deidentify(ds)`` applies the Basic Application Level Confidentiality Profile (PS3.15
Table E.1-1, "Basic Profile" column) to the attributes a projection radiograph or a
Secondary Capture carries, recursively into sequences:

* Z (kept, emptied): ``ZERO`` below (patient name and ID, birth date, sex, study date
  and time, study ID, accession number, referring physician, content date and time).
* X (removed): ``REMOVE`` below (other patient identifiers and demographics, free-text
  histories and comments, institution, station, device serial number, physicians and
  operators, request/procedure/protocol descriptions, acquisition/series/instance
  dates and times, time zone, plate/cassette/detector IDs, referenced study, patient and
  procedure step sequences), every private attribute, curve data (groups 50xx) and
  overlays (60xx; already dropped because they no longer fit the new pixel grid).
* U (replaced by a new UID, the same one for the same original within a process):
  ``REPLACE_UID`` below (study, frame of reference, irradiation event, instance creator,
  referenced SOP instances, ...). Series and SOP Instance UIDs are new anyway.
* K (kept): everything else, e.g. modality, body part, laterality, view, patient
  orientation, equipment manufacturer and model, pixel spacing, windows.

Then PatientIdentityRemoved = YES, DeidentificationMethod and its code (DCM 113100,
"Basic Application Confidentiality Profile") and LongitudinalTemporalInformationModified
= REMOVED are added. Text xrayview writes itself (SeriesDescription "xrayview enhanced"
and the DerivationDescription naming model, weights hash and scale) holds no identifier
and is kept, although the profile lists the source's values of those attributes as X.

Not covered (the options of Table E.1-1, and pixel content): a source marked
BurnedInAnnotation YES is refused by the exporter, since identifiers burned into the
pixels cannot be removed here.
"""

from __future__ import annotations

import secrets

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

METHOD = "PS3.15 E.1 Basic Application Level Confidentiality Profile"

ZERO = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "StudyID", "AccessionNumber", "ReferringPhysicianName", "ContentDate", "ContentTime",
    "ContentCreatorName", "ContrastBolusAgent", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest", "RequestedProcedureID", "VerifyingObserverName",
    "PersonName",
)
REMOVE = (
    "PatientAge", "PatientSize", "PatientWeight", "PatientAddress", "PatientBirthTime",
    "PatientBirthName", "PatientMotherBirthName", "OtherPatientIDs", "OtherPatientIDsSequence",
    "OtherPatientNames", "PatientTelephoneNumbers", "MilitaryRank", "BranchOfService",
    "EthnicGroup", "Occupation", "AdditionalPatientHistory", "PatientComments",
    "MedicalRecordLocator", "IssuerOfPatientID", "PatientReligiousPreference",
    "PregnancyStatus", "SmokingStatus", "MedicalAlerts", "Allergies", "CountryOfResidence",
    "RegionOfResidence", "PatientState", "ResponsiblePerson", "ResponsibleOrganization",
    "PatientInsurancePlanCodeSequence", "PatientSexNeutered", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence", "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence", "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence", "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorsName",
    "OperatorIdentificationSequence", "RequestingPhysician", "RequestingService",
    "StationName", "DeviceSerialNumber", "StudyDescription", "ImageComments", "StudyComments",
    "FrameComments", "ImagePresentationComments", "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence", "ReasonForStudy", "RequestedProcedureDescription",
    "PerformedProcedureStepDescription", "PerformedProcedureStepID",
    "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
    "ScheduledProcedureStepDescription", "ScheduledProcedureStepID",
    "RequestAttributesSequence", "ReferencedStudySequence", "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence", "ProtocolName", "AcquisitionDate",
    "AcquisitionTime", "AcquisitionDateTime", "SeriesDate", "SeriesTime",
    "InstanceCreationDate", "InstanceCreationTime", "OverlayDate", "OverlayTime",
    "CurveDate", "CurveTime", "TimezoneOffsetFromUTC", "AcquisitionDeviceProcessingDescription",
    "DetectorID", "PlateID", "CassetteID", "GantryID", "IssuerOfAccessionNumberSequence",
    "OriginalAttributesSequence", "ReviewerName", "InterpretationRecorder", "DistributionName",
)
REPLACE_UID = (
    "StudyInstanceUID", "FrameOfReferenceUID", "SynchronizationFrameOfReferenceUID",
    "IrradiationEventUID", "InstanceCreatorUID", "ReferencedSOPInstanceUID",
    "ReferencedFrameOfReferenceUID", "RelatedFrameOfReferenceUID", "StorageMediaFileSetUID",
    "DimensionOrganizationUID", "ConcatenationUID", "DeviceUID", "TargetUID", "UID",
)
_SESSION_SALT = secrets.token_hex(16)


def replacement_uid(uid: str, salt: str = _SESSION_SALT) -> str:
    """A new UID for ``uid``: the same for the same input and salt (a per-process random
    salt by default, so exports in one session stay consistent but cannot be linked
    back to the original by anyone without the salt)."""
    return generate_uid(entropy_srcs=[salt, str(uid)])


def _walk(ds: Dataset, salt: str) -> None:
    for elem in list(ds):
        if elem.tag.is_private or elem.tag.group & 0xFF00 in (0x5000, 0x6000):
            del ds[elem.tag]
        elif elem.VR == "SQ" and elem.keyword not in REMOVE:
            for item in elem.value:
                _walk(item, salt)
    for keyword in REMOVE:
        ds.pop(keyword, None)
    for keyword in ZERO:
        if keyword in ds:
            ds[keyword].value = ""
    for keyword in REPLACE_UID:
        if keyword in ds and ds[keyword].value:
            value = ds[keyword].value
            ds[keyword].value = ([replacement_uid(v, salt) for v in value]
                                 if ds[keyword].VM > 1 else replacement_uid(value, salt))


def deidentify(ds: Dataset, salt: str = _SESSION_SALT) -> Dataset:
    """Apply the Basic Profile to ``ds`` in place (see the module docstring); returns it."""
    _walk(ds, salt)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "113100", "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    return ds
