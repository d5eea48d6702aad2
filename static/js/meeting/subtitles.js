// Live subtitles: "Start subtitles" asks the app to dispatch the transcription agent
// (start-subtitle, with the page's LiveKit token); the captions are the segments the
// agent publishes on LiveKit's transcription text streams, one line per segment, the
// line's text replaced as the segment is refined.
import { ApiFailure, post } from "./app-api.js";
import { config, t } from "./config.js";
import { h } from "./dom.js";
import { showNotice } from "./notice.js";
import { displayName, everyone, findParticipant } from "./participants-of.js";

const TOPIC = "lk.transcription";
const SEGMENT = "lk.segment_id";
const TRACK = "lk.transcribed_track_id";
const FINAL = "lk.transcription_final";
const KEPT_LINES = 6;

const region = document.getElementById("captions");
const list = document.getElementById("caption-list");

// The speaker: the stream's sender, or, when an agent sends on their behalf, the owner
// of the transcribed track.
function speakerOf(room, senderIdentity, attributes) {
  const trackSid = attributes[TRACK];
  if (trackSid) {
    const owner = everyone(room).find((p) => p.trackPublications?.has?.(trackSid));
    if (owner) return owner;
  }
  return findParticipant(room, senderIdentity);
}

export function createSubtitles(room, button) {
  if (!config.subtitles || !region || !button) return { enable() {} };
  const lines = new Map();

  function show(segmentId, speaker, fallbackName, text, final) {
    let line = lines.get(segmentId);
    if (!line) {
      line = h("li", { class: "caption", "data-identity": speaker?.identity ?? fallbackName },
        h("span", { class: "caption-speaker" }, speaker ? displayName(speaker) : fallbackName),
        h("span", { class: "caption-text" }));
      lines.set(segmentId, line);
      list.append(line);
      while (list.children.length > KEPT_LINES) {
        const oldest = list.firstElementChild;
        lines.forEach((element, id) => { if (element === oldest) lines.delete(id); });
        oldest.remove();
      }
    }
    line.querySelector(".caption-text").textContent = text;
    line.classList.toggle("is-final", final);
    region.hidden = false;
  }

  room.registerTextStreamHandler(TOPIC, async (reader, participantInfo) => {
    const text = (await reader.readAll()).trim();
    if (!text) return;
    const attributes = reader.info?.attributes || {};
    const speaker = speakerOf(room, participantInfo.identity, attributes);
    const segmentId = attributes[SEGMENT] || reader.info?.id;
    show(segmentId, speaker, participantInfo.identity, text, attributes[FINAL] === "true");
  });

  async function start() {
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    button.querySelector("[data-label]").textContent = t("subtitlesStarting");
    try {
      await post("start-subtitle", {}, { asParticipant: true });
      button.setAttribute("aria-pressed", "true");
      button.disabled = true;
      button.querySelector("[data-label]").textContent = t("subtitlesOn");
      region.hidden = false;
    } catch (error) {
      button.querySelector("[data-label]").textContent = t("startSubtitles");
      showNotice(t(error instanceof ApiFailure && error.status === 403 ? "notAllowed" : "subtitlesFailed"));
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  button.addEventListener("click", start);
  return {
    enable() {
      if (button.getAttribute("aria-pressed") !== "true") button.disabled = false;
    },
  };
}
