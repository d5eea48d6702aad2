"""Pure parts of recordings: the stop mapping, matching an egress to its recording,
the start options, the worker choice and the settings."""

from __future__ import annotations

import uuid

import pytest
from livekit import api

from meet_web.models import RecordingMode, RecordingStatus
from meet_web.recording.config import RecordingConfig
from meet_web.recording.lifecycle import recording_id_of
from meet_web.recording.workers import (
    AudioCompositeEgress,
    VideoCompositeEgress,
    make_workers,
    status_after_stop,
)
from meet_web.services.livekit import LiveKitConfig, LiveKitGateway
from meet_web.settings import load_settings
from meet_web.views.api.recordings import parse_options

ID = uuid.UUID("0b5f0c1e-8f43-4f7e-9a51-2d1c3b4a5e6f")
BASE = {
    "sqlalchemy.url": "sqlite://",
    "session.secret": "s" * 32,
    "livekit.url": "http://127.0.0.1:1",
    "livekit.api_key": "key",
    "livekit.api_secret": "x" * 32,
    "oidc.issuer": "http://127.0.0.1:2",
    "oidc.client_id": "meet",
    "oidc.client_secret": "secret",
}


def settings(**overrides):
    return load_settings({**BASE, **overrides}, {})


def gateway():
    return LiveKitGateway(LiveKitConfig.from_settings(settings()))


@pytest.mark.parametrize(
    ("egress_status", "expected"),
    [
        (api.EGRESS_ABORTED, RecordingStatus.ABORTED),
        (api.EGRESS_ENDING, RecordingStatus.STOPPED),
        (api.EGRESS_COMPLETE, RecordingStatus.FAILED_TO_STOP),
        (api.EGRESS_FAILED, RecordingStatus.FAILED_TO_STOP),
        (api.EGRESS_ACTIVE, RecordingStatus.FAILED_TO_STOP),
    ],
)
def test_stop_maps_the_egress_status(egress_status, expected):
    assert status_after_stop(egress_status) == expected


def test_recording_id_from_the_output_path():
    info = api.EgressInfo(egress_id="EG_1")
    assert recording_id_of(info) is None
    info.room_composite.file_outputs.add(filepath=f"recordings/{ID}.mp4")
    assert recording_id_of(info) == ID


def test_recording_id_from_the_file_results():
    info = api.EgressInfo(egress_id="EG_1")
    info.file_results.add(filename=f"some/folder/{ID}.ogg")
    assert recording_id_of(info) == ID
    other = api.EgressInfo(egress_id="EG_2")
    other.file_results.add(filename=f"elsewhere/{ID}-extra.ogg")
    assert recording_id_of(other) is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        ({"language": None, "transcribe": None}, {}),
        ({"language": "fr", "transcribe": True}, {"language": "fr", "transcribe": True}),
        ({"original_mode": "transcript"}, {"original_mode": "transcript"}),
        ({"collect_metadata": False}, {"collect_metadata": False}),
    ],
)
def test_options(options, expected):
    assert parse_options(options) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "Must be an object."),
        ({"foo": 1, "bar": None}, "Unknown option keys: bar, foo."),
        ({"transcribe": "true"}, "transcribe must be true, false or null."),
        ({"language": ["fr"]}, "language must be a string"),
        ({"language": "x" * 36}, "language must be a string"),
        ({"original_mode": "video"}, "original_mode must be one of"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_options(options)


def test_default_workers():
    config = RecordingConfig.from_settings(settings())
    workers = make_workers({}, gateway(), config)
    assert type(workers[RecordingMode.SCREEN_RECORDING]) is VideoCompositeEgress
    assert type(workers[RecordingMode.TRANSCRIPT]) is AudioCompositeEgress


def test_workers_chosen_by_setting():
    config = RecordingConfig.from_settings(settings())
    chosen = {"screen_recording": "meet_web.recording.workers.AudioCompositeEgress"}
    workers = make_workers(chosen, gateway(), config)
    assert list(workers) == [RecordingMode.SCREEN_RECORDING]
    assert type(workers[RecordingMode.SCREEN_RECORDING]) is AudioCompositeEgress


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"podcast": "meet_web.recording.workers.AudioCompositeEgress"}, "unknown mode"),
        ({"transcript": "meet_web.recording.config.RecordingConfig"}, "not a RecordingWorker"),
    ],
)
def test_bad_worker_settings(classes, message):
    config = RecordingConfig.from_settings(settings())
    with pytest.raises(ValueError, match=message):
        make_workers(classes, gateway(), config)


def test_video_request_without_and_with_encoding():
    plain = RecordingConfig.from_settings(settings())
    request = VideoCompositeEgress(gateway(), plain).request("room", f"recordings/{ID}.mp4")
    assert request.preset == api.EncodingOptionsPreset.H264_720P_30
    assert not request.HasField("advanced")
    encoded = RecordingConfig.from_settings(
        settings(**{"recording.encoding_enabled": "true", "recording.encoding_framerate": "25"})
    )
    request = VideoCompositeEgress(gateway(), encoded).request("room", f"recordings/{ID}.mp4")
    assert request.advanced.framerate == 25
    assert request.advanced.key_frame_interval == 4.0


def test_link_base():
    config = RecordingConfig.from_settings(settings())
    assert config.link_base(None) is None
    assert config.link_base("https://meet.example.org/") == "https://meet.example.org/recordings"
    custom = RecordingConfig.from_settings(
        settings(**{"recording.download_base_url": "https://x.example/r/"})
    )
    assert custom.link_base("https://meet.example.org") == "https://x.example/r"


def test_folder_and_media_url_are_normalised():
    config = RecordingConfig.from_settings(
        settings(**{"recording.output_folder": "/rec/", "recording.media_url": "/files"})
    )
    assert (config.output_folder, config.media_url) == ("rec", "/files/")
