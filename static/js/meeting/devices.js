// Devices: the pre-join page's choices (sessionStorage "meet-devices", see prejoin.js)
// are where the call starts; the Devices dialog changes camera, microphone and speaker.
import { t } from "./config.js";
import { showNotice } from "./notice.js";

const STORAGE_KEY = "meet-devices";
const dialog = document.getElementById("settings-dialog");
const status = dialog.querySelector("[data-device-status]");
const STORED_NAME = { videoinput: "camera", audioinput: "microphone", audiooutput: "speaker" };

export function chosenDevices() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function remember(kind, deviceId) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ ...chosenDevices(), [STORED_NAME[kind]]: deviceId }));
}

// Room options starting capture on the chosen devices ("" is the system's default).
export function roomOptions() {
  const chosen = chosenDevices();
  const options = { adaptiveStream: true, dynacast: true };
  if (chosen.camera) options.videoCaptureDefaults = { deviceId: chosen.camera };
  if (chosen.microphone) options.audioCaptureDefaults = { deviceId: chosen.microphone };
  if (chosen.speaker) options.audioOutput = { deviceId: chosen.speaker };
  return options;
}

export function createDevices(room, LK, opener) {
  const sink = document.getElementById("audio-sink");
  const speakerChoosable = "setSinkId" in HTMLMediaElement.prototype;

  room.on(LK.RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === LK.Track.Kind.Audio) sink.append(track.attach());
  });
  room.on(LK.RoomEvent.TrackUnsubscribed, (track) => {
    if (track.kind === LK.Track.Kind.Audio) track.detach().forEach((element) => element.remove());
  });

  async function fill(select) {
    const kind = select.dataset.deviceKind;
    let devices = [];
    try {
      devices = await LK.Room.getLocalDevices(kind, false);
    } catch {
      devices = [];
    }
    const active = room.getActiveDevice(kind) || chosenDevices()[STORED_NAME[kind]] || "";
    const options = [new Option(t("deviceDefault"), "")];
    devices.filter((d) => d.deviceId && d.deviceId !== "default").forEach((device, index) => {
      options.push(new Option(device.label || t("deviceNumbered", { number: index + 1 }), device.deviceId));
    });
    select.replaceChildren(...options);
    select.value = options.some((o) => o.value === active) ? active : "";
    select.disabled = kind === "audiooutput" && !speakerChoosable;
  }

  async function open() {
    status.textContent = speakerChoosable ? "" : t("speakerUnsupported");
    await Promise.all([...dialog.querySelectorAll("select[data-device-kind]")].map(fill));
    dialog.showModal();
  }

  for (const select of dialog.querySelectorAll("select[data-device-kind]")) {
    select.addEventListener("change", async () => {
      const kind = select.dataset.deviceKind;
      try {
        const switched = await room.switchActiveDevice(kind, select.value || "default");
        if (switched === false) throw new Error("not switched");
        remember(kind, select.value);
        status.textContent = "";
      } catch {
        status.textContent = t("deviceSwitchFailed");
        showNotice(t("deviceSwitchFailed"));
      }
    });
  }
  dialog.addEventListener("close", () => opener.focus());
  opener.addEventListener("click", open);
}
