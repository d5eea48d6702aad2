// The meeting page: livekit-client connects with the token the server issued; the
// participant list and administrators' actions call Meet Web's JSON API.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("meeting-config").textContent);
  const statusEl = document.getElementById("connection-status");
  const grid = document.getElementById("video-grid");
  const people = document.getElementById("people-list");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const LK = window.LivekitClient;
  let handRaised = false;

  function say(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("status-denied", Boolean(isError));
  }

  async function api(path, body, useToken) {
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
    if (useToken) headers.Authorization = `Bearer ${config.token}`;
    const res = await fetch(`${config.api}/${path}/`, {
      method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body),
    });
    if (!res.ok) {
      let message = `${res.status}`;
      try { message = (await res.json()).detail || message; } catch (e) { /* not JSON */ }
      say(`Action failed: ${message}`, true);
    }
    return res;
  }

  if (!LK) {
    say("The meeting client could not be loaded.", true);
    return;
  }
  const room = new LK.Room({ adaptiveStream: true, dynacast: true });

  function tile(participant) {
    let el = grid.querySelector(`[data-identity="${CSS.escape(participant.identity)}"]`);
    if (!el) {
      el = document.createElement("figure");
      el.className = "tile";
      el.dataset.identity = participant.identity;
      el.innerHTML = '<div class="media"></div><figcaption></figcaption>';
      grid.appendChild(el);
    }
    el.querySelector("figcaption").textContent = participant.name || participant.identity;
    return el;
  }

  function renderPeople() {
    const everyone = [room.localParticipant, ...room.remoteParticipants.values()];
    people.replaceChildren(...everyone.map((p) => {
      const li = document.createElement("li");
      li.dataset.identity = p.identity;
      const hand = p.attributes && p.attributes.handRaisedAt ? " ✋" : "";
      const you = p === room.localParticipant ? " (you)" : "";
      li.append(document.createTextNode((p.name || p.identity) + you + hand));
      if (config.isManager && p !== room.localParticipant) {
        const mic = [...p.trackPublications.values()].find((t) => t.source === LK.Track.Source.Microphone);
        const actions = [["Mute", () => mic && api("mute-participant", { participant_identity: p.identity, track_sid: mic.trackSid })],
          ["Remove", () => api("remove-participant", { participant_identity: p.identity })],
          ["Make administrator", () => api("update-participant-role", { participant_identity: p.identity, role: "administrator" })]];
        actions.forEach(([label, fn]) => {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "button button-small button-quiet";
          b.textContent = label;
          b.addEventListener("click", fn);
          li.append(" ", b);
        });
      }
      return li;
    }));
  }

  room
    .on(LK.RoomEvent.TrackSubscribed, (track, _pub, participant) => {
      const media = tile(participant).querySelector(".media");
      media.appendChild(track.attach());
    })
    .on(LK.RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((el) => el.remove()))
    .on(LK.RoomEvent.LocalTrackPublished, (pub) => {
      if (pub.track && pub.track.kind === "video") tile(room.localParticipant).querySelector(".media").appendChild(pub.track.attach());
    })
    .on(LK.RoomEvent.ParticipantConnected, renderPeople)
    .on(LK.RoomEvent.ParticipantDisconnected, (p) => {
      const el = grid.querySelector(`[data-identity="${CSS.escape(p.identity)}"]`);
      if (el) el.remove();
      renderPeople();
    })
    .on(LK.RoomEvent.ParticipantAttributesChanged, renderPeople)
    .on(LK.RoomEvent.ParticipantNameChanged, renderPeople)
    .on(LK.RoomEvent.DataReceived, (payload) => {
      try {
        const message = JSON.parse(new TextDecoder().decode(payload));
        if (message.type === "participantWaiting" && window.htmx) htmx.trigger(document.body, "lobby-changed");
      } catch (e) { /* not ours */ }
    })
    .on(LK.RoomEvent.Disconnected, () => say("You left the meeting."));

  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const lp = room.localParticipant;
      const action = button.dataset.action;
      try {
        if (action === "microphone") await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
        if (action === "camera") await lp.setCameraEnabled(!lp.isCameraEnabled);
        if (action === "screen") await lp.setScreenShareEnabled(!lp.isScreenShareEnabled);
        if (action === "hand") {
          handRaised = !handRaised;
          await api("toggle-hand", { raised: handRaised }, true);
        }
        if (action === "leave") {
          await room.disconnect();
          window.location.href = config.leaveUrl;
          return;
        }
      } catch (err) {
        say(`Could not do that: ${err.message || err}`, true);
      }
      const pressed = { microphone: lp.isMicrophoneEnabled, camera: lp.isCameraEnabled,
        screen: lp.isScreenShareEnabled, hand: handRaised }[action];
      button.setAttribute("aria-pressed", String(Boolean(pressed)));
    });
  });

  room.connect(config.url, config.token)
    .then(() => {
      say("Connected.");
      tile(room.localParticipant);
      renderPeople();
    })
    .catch(() => say("The media server cannot be reached. Check your connection or try again later.", true));
})();
