// The stage: one tile per participant (and one per shared screen), in an adaptive grid;
// a shared screen or a pinned tile takes the spotlight, the others form a strip.
import { t } from "./config.js";
import { h, initials } from "./dom.js";
import { icon } from "./icons.js";
import { displayName, everyone, handRaisedAt, isGuest, isMicrophoneMuted } from "./participants-of.js";

const stage = document.getElementById("stage");
const spotlight = document.getElementById("spotlight");
const grid = document.getElementById("tiles");
const QUALITY_KEYS = { excellent: "qualityExcellent", good: "qualityGood", poor: "qualityPoor", lost: "qualityLost" };

function tileKey(identity, source) {
  return `${identity}|${source}`;
}

export function createTiles(room, LK) {
  const tiles = new Map(); // key -> element
  let pinned = null; // a tile key
  const screenSource = LK.Track.Source.ScreenShare;
  const cameraSource = LK.Track.Source.Camera;

  function makeTile(participant, source) {
    const isScreen = source === screenSource;
    const video = h("video", { class: "tile-video", autoplay: true, playsInline: true, muted: true });
    const pinButton = h("button", { type: "button", class: "tile-pin", "aria-pressed": "false" }, icon("pin"));
    const tile = h(
      "figure",
      { class: isScreen ? "tile tile-screen" : "tile", "data-identity": participant.identity, "data-source": source },
      video,
      isScreen ? null : h("div", { class: "tile-avatar", "aria-hidden": "true" }, h("span", { class: "tile-initials" })),
      h("figcaption", { class: "tile-caption" },
        h("span", { class: "tile-mark tile-muted", hidden: true, title: t("microphoneOff") }, icon("microphoneOff"), h("span", { class: "visually-hidden" }, t("microphoneOff"))),
        h("span", { class: "tile-name" }),
        h("span", { class: "tile-mark tile-guest", hidden: true }, t("guest")),
        h("span", { class: "tile-mark tile-hand", hidden: true, title: t("handRaised") }, icon("hand"), h("span", { class: "visually-hidden" }, t("handRaised")))),
      isScreen ? null : h("span", { class: "tile-quality", "data-quality": "unknown", role: "img" }, h("span"), h("span"), h("span")),
      pinButton,
      h("div", { class: "tile-reactions", "aria-hidden": "true" }),
    );
    const key = tileKey(participant.identity, source);
    pinButton.addEventListener("click", () => setPinned(pinned === key ? null : key));
    tiles.set(key, tile);
    grid.append(tile);
    return tile;
  }

  function attachVideo(tile, track) {
    const video = tile.querySelector("video");
    if (track && video.dataset.trackSid !== track.sid) {
      track.attach(video);
      video.dataset.trackSid = track.sid;
    }
    if (!track) delete video.dataset.trackSid;
  }

  function syncTile(participant, source) {
    const key = tileKey(participant.identity, source);
    const pub = participant.getTrackPublication(source);
    const isScreen = source === screenSource;
    if (isScreen && !(pub && pub.track && !pub.isMuted)) {
      removeTile(key);
      return;
    }
    const tile = tiles.get(key) || makeTile(participant, source);
    const name = displayName(participant);
    const shownName = participant.isLocal ? `${name} ${t("youSuffix")}` : name;
    const videoOn = Boolean(pub && pub.track && !pub.isMuted);
    attachVideo(tile, videoOn ? pub.track : null);
    tile.classList.toggle("is-video-off", !videoOn);
    tile.classList.toggle("is-local", participant.isLocal);
    tile.querySelector(".tile-name").textContent = isScreen
      ? (participant.isLocal ? t("yourScreen") : t("screenOf", { name }))
      : shownName;
    tile.querySelector(".tile-pin").setAttribute("aria-label", t(pinned === key ? "unpin" : "pin", { name: isScreen ? t("screenOf", { name }) : name }));
    tile.querySelector(".tile-pin").setAttribute("aria-pressed", String(pinned === key));
    if (!isScreen) {
      const avatar = tile.querySelector(".tile-avatar");
      avatar.querySelector(".tile-initials").textContent = initials(name);
      const color = (participant.attributes || {}).color;
      if (color) avatar.style.setProperty("--participant-color", color);
      tile.querySelector(".tile-muted").hidden = !isMicrophoneMuted(participant, LK);
      tile.querySelector(".tile-guest").hidden = !isGuest(participant);
      tile.querySelector(".tile-guest").title = t("guestLong");
      tile.querySelector(".tile-hand").hidden = handRaisedAt(participant) === null;
      tile.classList.toggle("is-speaking", Boolean(participant.isSpeaking));
      const quality = participant.connectionQuality || "unknown";
      const qualityMark = tile.querySelector(".tile-quality");
      qualityMark.dataset.quality = quality;
      qualityMark.hidden = !QUALITY_KEYS[quality];
      if (QUALITY_KEYS[quality]) qualityMark.setAttribute("aria-label", t(QUALITY_KEYS[quality]));
    }
  }

  function removeTile(key) {
    const tile = tiles.get(key);
    if (!tile) return;
    tile.querySelectorAll("video").forEach((v) => { v.srcObject = null; });
    tile.remove();
    tiles.delete(key);
    if (pinned === key) pinned = null;
  }

  function layout() {
    const screens = [...tiles.keys()].filter((k) => k.endsWith(`|${screenSource}`));
    const featured = pinned && tiles.has(pinned) ? pinned : screens[screens.length - 1] || null;
    for (const [key, tile] of tiles) {
      const place = key === featured ? spotlight : grid;
      if (tile.parentElement !== place) place.append(tile);
    }
    // The local camera tile comes first, as in the People list.
    const local = tiles.get(tileKey(room.localParticipant.identity, cameraSource));
    if (local && local.parentElement === grid && grid.firstElementChild !== local) grid.prepend(local);
    spotlight.hidden = !featured;
    stage.dataset.layout = featured ? "spotlight" : "grid";
    grid.dataset.count = String(Math.min(grid.childElementCount, 13));
  }

  function setPinned(key) {
    pinned = key;
    refreshAll();
  }

  function refresh(participant) {
    syncTile(participant, cameraSource);
    syncTile(participant, screenSource);
    layout();
  }

  function refreshAll() {
    const present = new Set();
    for (const participant of everyone(room)) {
      present.add(participant.identity);
      syncTile(participant, cameraSource);
      syncTile(participant, screenSource);
    }
    for (const key of [...tiles.keys()]) {
      if (!present.has(key.slice(0, key.lastIndexOf("|")))) removeTile(key);
    }
    layout();
  }

  function forget(participant) {
    removeTile(tileKey(participant.identity, cameraSource));
    removeTile(tileKey(participant.identity, screenSource));
    layout();
  }

  function tileOf(identity) {
    return tiles.get(tileKey(identity, cameraSource));
  }

  const E = LK.RoomEvent;
  const refreshFrom = (participantArgIndex) => (...args) => refresh(args[participantArgIndex]);
  room
    .on(E.ParticipantConnected, refresh)
    .on(E.ParticipantDisconnected, forget)
    .on(E.TrackSubscribed, refreshFrom(2))
    .on(E.TrackUnsubscribed, refreshFrom(2))
    .on(E.TrackPublished, refreshFrom(1))
    .on(E.TrackUnpublished, refreshFrom(1))
    .on(E.TrackMuted, refreshFrom(1))
    .on(E.TrackUnmuted, refreshFrom(1))
    .on(E.LocalTrackPublished, refreshFrom(1))
    .on(E.LocalTrackUnpublished, refreshFrom(1))
    .on(E.ParticipantAttributesChanged, refreshFrom(1))
    .on(E.ParticipantNameChanged, refreshFrom(1))
    .on(E.ConnectionQualityChanged, refreshFrom(1))
    .on(E.ActiveSpeakersChanged, refreshAll);

  return { refreshAll, tileOf, setPinned };
}
