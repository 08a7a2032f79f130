import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EstimateLossRequest(_message.Message):
    __slots__ = ("scenario", "include_assets", "observed_start_time", "observed_end_time")
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_START_TIME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_END_TIME_FIELD_NUMBER: _ClassVar[int]
    scenario: str
    include_assets: bool
    observed_start_time: _timestamp_pb2.Timestamp
    observed_end_time: _timestamp_pb2.Timestamp
    def __init__(self, scenario: _Optional[str] = ..., include_assets: _Optional[bool] = ..., observed_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., observed_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetLossEstimateRequest(_message.Message):
    __slots__ = ("estimate_id", "include_assets")
    ESTIMATE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ASSETS_FIELD_NUMBER: _ClassVar[int]
    estimate_id: str
    include_assets: bool
    def __init__(self, estimate_id: _Optional[str] = ..., include_assets: _Optional[bool] = ...) -> None: ...

class LossTotal(_message.Message):
    __slots__ = ("name", "mean", "std", "p5", "p50", "p95")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    P5_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    name: str
    mean: float
    std: float
    p5: float
    p50: float
    p95: float
    def __init__(self, name: _Optional[str] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., p5: _Optional[float] = ..., p50: _Optional[float] = ..., p95: _Optional[float] = ...) -> None: ...

class LossEstimate(_message.Message):
    __slots__ = ("estimate_id", "name", "created", "response_level", "pager_alert", "fatalities", "economic_loss", "displaced", "n_assets", "realisations", "observations", "totals", "document_json")
    ESTIMATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PAGER_ALERT_FIELD_NUMBER: _ClassVar[int]
    FATALITIES_FIELD_NUMBER: _ClassVar[int]
    ECONOMIC_LOSS_FIELD_NUMBER: _ClassVar[int]
    DISPLACED_FIELD_NUMBER: _ClassVar[int]
    N_ASSETS_FIELD_NUMBER: _ClassVar[int]
    REALISATIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    estimate_id: str
    name: str
    created: _timestamp_pb2.Timestamp
    response_level: str
    pager_alert: str
    fatalities: float
    economic_loss: float
    displaced: float
    n_assets: int
    realisations: int
    observations: int
    totals: _containers.RepeatedCompositeFieldContainer[LossTotal]
    document_json: str
    def __init__(self, estimate_id: _Optional[str] = ..., name: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_level: _Optional[str] = ..., pager_alert: _Optional[str] = ..., fatalities: _Optional[float] = ..., economic_loss: _Optional[float] = ..., displaced: _Optional[float] = ..., n_assets: _Optional[int] = ..., realisations: _Optional[int] = ..., observations: _Optional[int] = ..., totals: _Optional[_Iterable[_Union[LossTotal, _Mapping]]] = ..., document_json: _Optional[str] = ...) -> None: ...

class RespondRequest(_message.Message):
    __slots__ = ("plan", "estimate_id", "estimate_json", "origin_time", "activation_id", "magnitude", "population_class", "gdp_previous_year", "intensity", "pga_mps2", "structure_health", "mine_risk_grade")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_JSON_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    POPULATION_CLASS_FIELD_NUMBER: _ClassVar[int]
    GDP_PREVIOUS_YEAR_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    PGA_MPS2_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_HEALTH_FIELD_NUMBER: _ClassVar[int]
    MINE_RISK_GRADE_FIELD_NUMBER: _ClassVar[int]
    plan: str
    estimate_id: str
    estimate_json: str
    origin_time: _timestamp_pb2.Timestamp
    activation_id: str
    magnitude: float
    population_class: str
    gdp_previous_year: float
    intensity: float
    pga_mps2: float
    structure_health: str
    mine_risk_grade: str
    def __init__(self, plan: _Optional[str] = ..., estimate_id: _Optional[str] = ..., estimate_json: _Optional[str] = ..., origin_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activation_id: _Optional[str] = ..., magnitude: _Optional[float] = ..., population_class: _Optional[str] = ..., gdp_previous_year: _Optional[float] = ..., intensity: _Optional[float] = ..., pga_mps2: _Optional[float] = ..., structure_health: _Optional[str] = ..., mine_risk_grade: _Optional[str] = ...) -> None: ...

class GetActivationRequest(_message.Message):
    __slots__ = ("activation_id",)
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    activation_id: str
    def __init__(self, activation_id: _Optional[str] = ...) -> None: ...

class UpdateActionRequest(_message.Message):
    __slots__ = ("activation_id", "action_id", "status", "note")
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    activation_id: str
    action_id: str
    status: str
    note: str
    def __init__(self, activation_id: _Optional[str] = ..., action_id: _Optional[str] = ..., status: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ActionEscalation(_message.Message):
    __slots__ = ("time", "to_role")
    TIME_FIELD_NUMBER: _ClassVar[int]
    TO_ROLE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    to_role: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_role: _Optional[str] = ...) -> None: ...

class ActionState(_message.Message):
    __slots__ = ("action_id", "role", "task", "deadline", "depends_on", "status", "overdue", "escalations", "updated_by", "note")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    role: str
    task: str
    deadline: _timestamp_pb2.Timestamp
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    status: str
    overdue: bool
    escalations: _containers.RepeatedCompositeFieldContainer[ActionEscalation]
    updated_by: str
    note: str
    def __init__(self, action_id: _Optional[str] = ..., role: _Optional[str] = ..., task: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., depends_on: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., overdue: _Optional[bool] = ..., escalations: _Optional[_Iterable[_Union[ActionEscalation, _Mapping]]] = ..., updated_by: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Activation(_message.Message):
    __slots__ = ("activation_id", "plan_id", "plan_version", "plan_sha256", "level", "level_name", "origin_time", "revision", "actions", "document_json")
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLAN_SHA256_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    activation_id: str
    plan_id: str
    plan_version: str
    plan_sha256: str
    level: str
    level_name: str
    origin_time: _timestamp_pb2.Timestamp
    revision: int
    actions: _containers.RepeatedCompositeFieldContainer[ActionState]
    document_json: str
    def __init__(self, activation_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., plan_version: _Optional[str] = ..., plan_sha256: _Optional[str] = ..., level: _Optional[str] = ..., level_name: _Optional[str] = ..., origin_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., actions: _Optional[_Iterable[_Union[ActionState, _Mapping]]] = ..., document_json: _Optional[str] = ...) -> None: ...

class PlanDispatchRequest(_message.Message):
    __slots__ = ("depots_csv", "demands_csv", "costs_csv", "objective", "speed_kmh", "detour_factor", "deadline", "shortage_penalty", "weights", "vehicles_csv", "unit_tonnes", "horizon", "teams_csv", "sites_csv", "shelters_csv", "max_open")
    class ShortagePenaltyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class UnitTonnesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    DEPOTS_CSV_FIELD_NUMBER: _ClassVar[int]
    DEMANDS_CSV_FIELD_NUMBER: _ClassVar[int]
    COSTS_CSV_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SPEED_KMH_FIELD_NUMBER: _ClassVar[int]
    DETOUR_FACTOR_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    SHORTAGE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_CSV_FIELD_NUMBER: _ClassVar[int]
    UNIT_TONNES_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    TEAMS_CSV_FIELD_NUMBER: _ClassVar[int]
    SITES_CSV_FIELD_NUMBER: _ClassVar[int]
    SHELTERS_CSV_FIELD_NUMBER: _ClassVar[int]
    MAX_OPEN_FIELD_NUMBER: _ClassVar[int]
    depots_csv: str
    demands_csv: str
    costs_csv: str
    objective: str
    speed_kmh: float
    detour_factor: float
    deadline: str
    shortage_penalty: _containers.ScalarMap[str, float]
    weights: _containers.ScalarMap[str, float]
    vehicles_csv: str
    unit_tonnes: _containers.ScalarMap[str, float]
    horizon: str
    teams_csv: str
    sites_csv: str
    shelters_csv: str
    max_open: int
    def __init__(self, depots_csv: _Optional[str] = ..., demands_csv: _Optional[str] = ..., costs_csv: _Optional[str] = ..., objective: _Optional[str] = ..., speed_kmh: _Optional[float] = ..., detour_factor: _Optional[float] = ..., deadline: _Optional[str] = ..., shortage_penalty: _Optional[_Mapping[str, float]] = ..., weights: _Optional[_Mapping[str, float]] = ..., vehicles_csv: _Optional[str] = ..., unit_tonnes: _Optional[_Mapping[str, float]] = ..., horizon: _Optional[str] = ..., teams_csv: _Optional[str] = ..., sites_csv: _Optional[str] = ..., shelters_csv: _Optional[str] = ..., max_open: _Optional[int] = ...) -> None: ...

class Shipment(_message.Message):
    __slots__ = ("from_id", "to_id", "commodity", "quantity", "unit_cost")
    FROM_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    from_id: str
    to_id: str
    commodity: str
    quantity: float
    unit_cost: float
    def __init__(self, from_id: _Optional[str] = ..., to_id: _Optional[str] = ..., commodity: _Optional[str] = ..., quantity: _Optional[float] = ..., unit_cost: _Optional[float] = ...) -> None: ...

class Unmet(_message.Message):
    __slots__ = ("demand_id", "commodity", "quantity")
    DEMAND_ID_FIELD_NUMBER: _ClassVar[int]
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    demand_id: str
    commodity: str
    quantity: float
    def __init__(self, demand_id: _Optional[str] = ..., commodity: _Optional[str] = ..., quantity: _Optional[float] = ...) -> None: ...

class DispatchPlan(_message.Message):
    __slots__ = ("dispatch_id", "objective", "shipments", "unmet", "document_json")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    UNMET_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    objective: float
    shipments: _containers.RepeatedCompositeFieldContainer[Shipment]
    unmet: _containers.RepeatedCompositeFieldContainer[Unmet]
    document_json: str
    def __init__(self, dispatch_id: _Optional[str] = ..., objective: _Optional[float] = ..., shipments: _Optional[_Iterable[_Union[Shipment, _Mapping]]] = ..., unmet: _Optional[_Iterable[_Union[Unmet, _Mapping]]] = ..., document_json: _Optional[str] = ...) -> None: ...
