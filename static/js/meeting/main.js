// The meeting page: livekit-client (window.LivekitClient, the UMD build) connects with
// the token the server issued; each concern lives in its own module.
import { createAdminActions } from "./admin.js";
import { announce } from "./announcer.js";
import { createBackgrounds } from "./backgrounds.js";
import { createChat } from "./chat.js";
import { config, t } from "./config.js";
import { createConnection, showProblem } from "./connection.js";
import { buttons, createControls } from "./controls.js";
import { chosenDevices, createDevices, roomOptions } from "./devices.js";
import { mediaErrorKey } from "./errors.js";
import { createHands } from "./hands.js";
import { createLobbyPanel } from "./lobby.js";
import { showNotice } from "./notice.js";
import { createPanels, setUpLinkCopy } from "./panels.js";
import { displayName } from "./participants-of.js";
import { createPeopleList } from "./people.js";
import { createReactions } from "./reactions.js";
import { createRecording } from "./recording.js";
import { createSubtitles } from "./subtitles.js";
import { createTiles } from "./tiles.js";

function start(LK) {
  const connection = createConnection(LK, roomOptions());
  const { room } = connection;
  const tiles = createTiles(room, LK);
  const admin = createAdminActions(room, LK);
  const people = createPeopleList(room, LK, admin);
  const hands = createHands(room, LK, buttons.hand);
  const controls = createControls(room, LK, {
    hands,
    leave: async () => {
      await connection.leave();
      window.location.href = config.leaveUrl;
    },
  });
  const chat = createChat(room);
  createReactions(room, tiles);
  const subtitles = createSubtitles(room, buttons.subtitles);
  const recording = createRecording(room, LK);
  createDevices(room, LK, buttons.settings);
  createBackgrounds(room, LK);
  createLobbyPanel(room, LK);
  createPanels({ onOpen: { "chat-panel": () => chat.opened() } });
  setUpLinkCopy();
  buttons["end-meeting"]?.addEventListener("click", () => admin.endMeeting());

  room
    .on(LK.RoomEvent.ParticipantConnected, (p) => announce(t("joined", { name: displayName(p) })))
    .on(LK.RoomEvent.ParticipantDisconnected, (p) => announce(t("leftMeeting", { name: displayName(p) })));

  connection.onConnected(async () => {
    controls.enable();
    subtitles.enable();
    recording.enable();
    tiles.refreshAll();
    people.render();
    hands.render();
    await startMediaFromPrejoin(room, controls);
  });
  tiles.refreshAll();
  people.render();
  connection.connect();
}

// Coming from the pre-join page (its choices are stored), the call starts with the
// microphone and camera on, as they were in the preview.
async function startMediaFromPrejoin(room, controls) {
  if (sessionStorage.getItem("meet-devices") === null) return;
  const chosen = chosenDevices();
  const lp = room.localParticipant;
  const starts = {
    microphone: () => lp.setMicrophoneEnabled(true, chosen.microphone ? { deviceId: chosen.microphone } : undefined),
    camera: () => lp.setCameraEnabled(true, chosen.camera ? { deviceId: chosen.camera } : undefined),
  };
  for (const [kind, enable] of Object.entries(starts)) {
    if (buttons[kind].disabled) continue;
    try {
      await enable();
    } catch (error) {
      showNotice(t(mediaErrorKey(error, kind)));
    }
  }
  controls.render();
}

if (window.LivekitClient) {
  start(window.LivekitClient);
} else {
  showProblem("titleUnreachable", "clientMissing");
}
