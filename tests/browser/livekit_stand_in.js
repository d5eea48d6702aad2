// A scripted stand-in for livekit-client 2.23's UMD build (`window.LivekitClient`),
// served in place of static/vendor/livekit-client.umd.js by the browser tests. It keeps
// the real API's names, event names, argument orders and enum values (see
// node_modules/livekit-client/dist/src/), and is driven from the tests through
// `window.__standIn` (add participants, speak, share a screen, send text, disconnect).
(function () {
  "use strict";

  const RoomEvent = {
    Connected: "connected",
    Reconnecting: "reconnecting",
    Reconnected: "reconnected",
    Disconnected: "disconnected",
    ConnectionStateChanged: "connectionStateChanged",
    ParticipantConnected: "participantConnected",
    ParticipantDisconnected: "participantDisconnected",
    TrackPublished: "trackPublished",
    TrackSubscribed: "trackSubscribed",
    TrackUnpublished: "trackUnpublished",
    TrackUnsubscribed: "trackUnsubscribed",
    TrackMuted: "trackMuted",
    TrackUnmuted: "trackUnmuted",
    LocalTrackPublished: "localTrackPublished",
    LocalTrackUnpublished: "localTrackUnpublished",
    ActiveSpeakersChanged: "activeSpeakersChanged",
    ParticipantNameChanged: "participantNameChanged",
    ParticipantAttributesChanged: "participantAttributesChanged",
    DataReceived: "dataReceived",
    ConnectionQualityChanged: "connectionQualityChanged",
    MediaDevicesChanged: "mediaDevicesChanged",
    ActiveDeviceChanged: "activeDeviceChanged",
  };
  const ConnectionState = {
    Disconnected: "disconnected",
    Connecting: "connecting",
    Connected: "connected",
    Reconnecting: "reconnecting",
    SignalReconnecting: "signalReconnecting",
  };
  const ConnectionQuality = {
    Excellent: "excellent", Good: "good", Poor: "poor", Lost: "lost", Unknown: "unknown",
  };
  // A protobuf-es enum: names to numbers and numbers to names.
  const DisconnectReason = {};
  ["UNKNOWN_REASON", "CLIENT_INITIATED", "DUPLICATE_IDENTITY", "SERVER_SHUTDOWN",
    "PARTICIPANT_REMOVED", "ROOM_DELETED", "STATE_MISMATCH", "JOIN_FAILURE", "MIGRATION",
    "SIGNAL_CLOSE", "ROOM_CLOSED", "USER_UNAVAILABLE", "USER_REJECTED", "SIP_TRUNK_FAILURE",
    "CONNECTION_TIMEOUT", "MEDIA_FAILURE", "AGENT_ERROR"].forEach((name, number) => {
    DisconnectReason[name] = number;
    DisconnectReason[number] = name;
  });
  const Source = {
    Camera: "camera", Microphone: "microphone", ScreenShare: "screen_share",
    ScreenShareAudio: "screen_share_audio", Unknown: "unknown",
  };
  const Kind = { Audio: "audio", Video: "video", Unknown: "unknown" };
  // livekit.TrackSource, as ParticipantPermission.canPublishSources holds them
  const TRACK_SOURCE_NUMBER = { camera: 1, microphone: 2, screen_share: 3, screen_share_audio: 4 };

  class ConnectionError extends Error {
    constructor(message, reason) {
      super(message);
      this.name = "ConnectionError";
      this.reason = reason;
      this.reasonName = reason === 1 ? "ServerUnreachable" : "InternalError";
    }
  }

  class Emitter {
    constructor() { this._handlers = new Map(); }
    on(event, handler) {
      if (!this._handlers.has(event)) this._handlers.set(event, []);
      this._handlers.get(event).push(handler);
      return this;
    }
    off(event, handler) {
      this._handlers.set(event, (this._handlers.get(event) || []).filter((h) => h !== handler));
      return this;
    }
    once(event, handler) {
      const wrapped = (...args) => { this.off(event, wrapped); handler(...args); };
      return this.on(event, wrapped);
    }
    emit(event, ...args) {
      for (const handler of [...(this._handlers.get(event) || [])]) handler(...args);
      return true;
    }
  }

  let sidCounter = 0;
  const newSid = (prefix) => `${prefix}_${(++sidCounter).toString(36)}`;

  // A real video stream: a canvas in the participant's colour with their initial.
  function paintedStream(label, color) {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 180;
    const context = canvas.getContext("2d");
    const paint = () => {
      context.fillStyle = color;
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.fillStyle = "rgba(255,255,255,0.85)";
      context.font = "bold 28px sans-serif";
      context.fillText(label, 16, 100);
    };
    paint();
    const stream = canvas.captureStream(5);
    const timer = setInterval(paint, 200);
    stream.getTracks()[0].addEventListener("ended", () => clearInterval(timer));
    return stream;
  }

  class Track extends Emitter {
    constructor(kind, source, mediaStream) {
      super();
      this.sid = newSid("TR");
      this.kind = kind;
      this.source = source;
      this.mediaStream = mediaStream;
      this.mediaStreamTrack = mediaStream ? mediaStream.getTracks()[0] : undefined;
      this.attachedElements = [];
      this.isMuted = false;
    }
    attach(element) {
      const target = element || document.createElement(this.kind === Kind.Audio ? "audio" : "video");
      if (this.mediaStream) target.srcObject = this.mediaStream;
      if (!this.attachedElements.includes(target)) this.attachedElements.push(target);
      return target;
    }
    detach(element) {
      const detached = element ? [element] : [...this.attachedElements];
      detached.forEach((el) => { el.srcObject = null; });
      this.attachedElements = this.attachedElements.filter((el) => !detached.includes(el));
      return element || detached;
    }
    stop() {
      if (this.mediaStream) this.mediaStream.getTracks().forEach((t) => t.stop());
    }
  }
  Track.Source = Source;
  Track.Kind = Kind;

  class TrackPublication extends Emitter {
    constructor(track, { sid, muted = false } = {}) {
      super();
      this.trackSid = sid || track.sid;
      this.track = track;
      this.kind = track.kind;
      this.source = track.source;
      this.trackName = track.source;
      this.isMuted = muted;
      this.isSubscribed = true;
    }
    get isEnabled() { return true; }
    get videoTrack() { return this.kind === Kind.Video ? this.track : undefined; }
    get audioTrack() { return this.kind === Kind.Audio ? this.track : undefined; }
  }

  class Participant extends Emitter {
    constructor(identity, name, attributes) {
      super();
      this.sid = newSid("PA");
      this.identity = identity;
      this.name = name || "";
      this.metadata = "";
      this._attributes = { ...(attributes || {}) };
      this.trackPublications = new Map();
      this.audioTrackPublications = new Map();
      this.videoTrackPublications = new Map();
      this.isSpeaking = false;
      this.audioLevel = 0;
      this._connectionQuality = ConnectionQuality.Unknown;
      this.permissions = undefined;
      this.joinedAt = new Date();
    }
    get attributes() { return Object.freeze({ ...this._attributes }); }
    get connectionQuality() { return this._connectionQuality; }
    get isLocal() { return false; }
    getTrackPublications() { return [...this.trackPublications.values()]; }
    getTrackPublication(source) {
      return [...this.trackPublications.values()].find((p) => p.source === source);
    }
    getTrackPublicationByName(name) {
      return [...this.trackPublications.values()].find((p) => p.trackName === name);
    }
    get isCameraEnabled() { const p = this.getTrackPublication(Source.Camera); return !!p && !p.isMuted; }
    get isMicrophoneEnabled() { const p = this.getTrackPublication(Source.Microphone); return !!p && !p.isMuted; }
    get isScreenShareEnabled() { return !!this.getTrackPublication(Source.ScreenShare); }
    _add(publication) {
      this.trackPublications.set(publication.trackSid, publication);
      (publication.kind === Kind.Audio ? this.audioTrackPublications : this.videoTrackPublications)
        .set(publication.trackSid, publication);
    }
    _remove(publication) {
      this.trackPublications.delete(publication.trackSid);
      this.audioTrackPublications.delete(publication.trackSid);
      this.videoTrackPublications.delete(publication.trackSid);
    }
  }

  class RemoteParticipant extends Participant {}

  // What getUserMedia / getDisplayMedia would refuse, per source: set by the tests.
  const deviceFailures = { ...(window.__standInDeviceFailures || {}) };

  function deviceError(source) {
    const name = deviceFailures[source];
    if (!name) return null;
    return new DOMException(`stand-in ${name}`, name);
  }

  class LocalParticipant extends Participant {
    constructor(room, identity, name, attributes) {
      super(identity, name, attributes);
      this._room = room;
      this.lastCaptureOptions = {};
    }
    get isLocal() { return true; }

    async _setEnabled(source, enabled, options) {
      const existing = this.getTrackPublication(source);
      if (enabled) {
        const failure = deviceError(source);
        if (failure) throw failure;
        if (options) this.lastCaptureOptions[source] = options;
        if (existing) {
          if (existing.isMuted) {
            existing.isMuted = false;
            existing.track.isMuted = false;
            this._room.emit(RoomEvent.TrackUnmuted, existing, this);
          }
          return existing;
        }
        const kind = source === Source.Microphone ? Kind.Audio : Kind.Video;
        const stream = kind === Kind.Video
          ? paintedStream(source === Source.ScreenShare ? "screen" : this.name, source === Source.ScreenShare ? "#0f766e" : "#4338ca")
          : null;
        const publication = new TrackPublication(new Track(kind, source, stream));
        this._add(publication);
        this._room.emit(RoomEvent.LocalTrackPublished, publication, this);
        return publication;
      }
      if (!existing) return undefined;
      if (source === Source.ScreenShare) {
        this._remove(existing);
        existing.track.stop();
        this._room.emit(RoomEvent.LocalTrackUnpublished, existing, this);
      } else {
        existing.isMuted = true;
        existing.track.isMuted = true;
        this._room.emit(RoomEvent.TrackMuted, existing, this);
      }
      return existing;
    }
    setMicrophoneEnabled(enabled, options) { return this._setEnabled(Source.Microphone, enabled, options); }
    setCameraEnabled(enabled, options) { return this._setEnabled(Source.Camera, enabled, options); }
    setScreenShareEnabled(enabled, options) { return this._setEnabled(Source.ScreenShare, enabled, options); }

    async sendText(text, options = {}) {
      if (standIn.failSendText) throw new Error("stand-in: send failed");
      const info = { id: newSid("TS"), mimeType: "text/plain", topic: options.topic || "", timestamp: Date.now(), size: text.length, attributes: options.attributes || {} };
      standIn.sentTexts.push({ topic: info.topic, text });
      return info;
    }
    async publishData(payload, options = {}) {
      standIn.sentData.push({ payload: new TextDecoder().decode(payload), topic: options.topic });
    }
  }

  function tokenClaims(token) {
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(payload))));
    } catch {
      return {};
    }
  }

  let currentRoom = null;

  class Room extends Emitter {
    constructor(options = {}) {
      super();
      this.options = options;
      this.state = ConnectionState.Disconnected;
      this.remoteParticipants = new Map();
      this.activeSpeakers = [];
      this.localParticipant = new LocalParticipant(this, "", "", {});
      this.name = "";
      this._textHandlers = new Map();
      this._activeDevices = {};
      currentRoom = this;
      standIn.rooms.push(this);
    }

    async connect(url, token) {
      standIn.connectCalls.push({ url, token });
      this.state = ConnectionState.Connecting;
      this.emit(RoomEvent.ConnectionStateChanged, this.state);
      if (standIn.connectFailures > 0) {
        standIn.connectFailures -= 1;
        this.state = ConnectionState.Disconnected;
        this.emit(RoomEvent.ConnectionStateChanged, this.state);
        throw new ConnectionError("could not establish signal connection: Failed to fetch", 1);
      }
      const claims = tokenClaims(token);
      const local = this.localParticipant;
      local.identity = claims.sub || "";
      local.name = claims.name || "";
      local._attributes = { ...(claims.attributes || {}) };
      const video = claims.video || {};
      local.permissions = {
        canPublish: !!video.canPublish,
        canSubscribe: video.canSubscribe !== false,
        canPublishData: !!video.canPublishData,
        canPublishSources: (video.canPublishSources || []).map((s) => TRACK_SOURCE_NUMBER[s]).filter(Boolean),
        canUpdateMetadata: !!video.canUpdateOwnMetadata,
      };
      this.name = video.room || "";
      this.state = ConnectionState.Connected;
      this.emit(RoomEvent.ConnectionStateChanged, this.state);
      this.emit(RoomEvent.Connected);
    }

    async disconnect() {
      this._end(DisconnectReason.CLIENT_INITIATED);
    }

    _end(reason) {
      if (this.state === ConnectionState.Disconnected) return;
      this.state = ConnectionState.Disconnected;
      this.remoteParticipants.clear();
      this.emit(RoomEvent.ConnectionStateChanged, this.state);
      this.emit(RoomEvent.Disconnected, reason);
    }

    registerTextStreamHandler(topic, callback) {
      if (this._textHandlers.has(topic)) {
        throw new TypeError(`A text stream handler for topic "${topic}" has already been set.`);
      }
      this._textHandlers.set(topic, callback);
    }
    unregisterTextStreamHandler(topic) { this._textHandlers.delete(topic); }

    getParticipantByIdentity(identity) {
      if (this.localParticipant.identity === identity) return this.localParticipant;
      return this.remoteParticipants.get(identity);
    }

    getActiveDevice(kind) { return this._activeDevices[kind]; }
    async switchActiveDevice(kind, deviceId) {
      if (standIn.failDeviceSwitch) return false;
      this._activeDevices[kind] = deviceId;
      standIn.switchedDevices.push({ kind, deviceId });
      this.emit(RoomEvent.ActiveDeviceChanged, kind, deviceId);
      return true;
    }
    get canPlaybackAudio() { return true; }
    async startAudio() {}

    static async getLocalDevices(kind) {
      return standIn.devices.filter((d) => !kind || d.kind === kind);
    }
  }

  // -- the tests' remote control ---------------------------------------------------------

  const standIn = {
    rooms: [],
    connectCalls: [],
    // Set before the page's scripts run (an init script) to fail the first connects.
    connectFailures: window.__standInConnectFailures || 0,
    sentTexts: [],
    sentData: [],
    switchedDevices: [],
    failSendText: false,
    failDeviceSwitch: false,
    devices: [
      { kind: "videoinput", deviceId: "cam-1", label: "Front camera", groupId: "g1" },
      { kind: "videoinput", deviceId: "cam-2", label: "USB camera", groupId: "g2" },
      { kind: "audioinput", deviceId: "mic-1", label: "Built-in microphone", groupId: "g1" },
      { kind: "audiooutput", deviceId: "spk-1", label: "Speakers", groupId: "g1" },
    ],
    get room() { return currentRoom; },

    failConnects(count) { this.connectFailures = count; },
    failDevice(source, errorName) { deviceFailures[source] = errorName; },

    // {identity, name, attributes, camera: bool, microphone: {sid, muted} | null, color}
    addParticipant({ identity, name, attributes = {}, camera = false, microphone = null, color = "#b45309" }) {
      const room = currentRoom;
      const participant = new RemoteParticipant(identity, name, attributes);
      room.remoteParticipants.set(identity, participant);
      room.emit(RoomEvent.ParticipantConnected, participant);
      if (microphone) this.publish(identity, Source.Microphone, microphone);
      if (camera) this.publish(identity, Source.Camera, { color });
      return participant.sid;
    },

    publish(identity, source, { sid, muted = false, color = "#0f766e" } = {}) {
      const room = currentRoom;
      const participant = room.remoteParticipants.get(identity);
      const kind = source === Source.Microphone ? Kind.Audio : Kind.Video;
      const stream = kind === Kind.Video ? paintedStream(source === Source.ScreenShare ? `${participant.name} — screen` : participant.name, color) : null;
      const publication = new TrackPublication(new Track(kind, source, stream), { sid, muted });
      participant._add(publication);
      room.emit(RoomEvent.TrackPublished, publication, participant);
      room.emit(RoomEvent.TrackSubscribed, publication.track, publication, participant);
      return publication.trackSid;
    },

    unpublish(identity, source) {
      const room = currentRoom;
      const participant = room.remoteParticipants.get(identity);
      const publication = participant.getTrackPublication(source);
      if (!publication) return;
      room.emit(RoomEvent.TrackUnsubscribed, publication.track, publication, participant);
      participant._remove(publication);
      room.emit(RoomEvent.TrackUnpublished, publication, participant);
    },

    shareScreen(identity) { return this.publish(identity, Source.ScreenShare, { color: "#1e3a8a" }); },
    stopScreen(identity) { this.unpublish(identity, Source.ScreenShare); },

    setMuted(identity, source, muted) {
      const room = currentRoom;
      const participant = room.getParticipantByIdentity(identity);
      const publication = participant.getTrackPublication(source);
      publication.isMuted = muted;
      publication.track.isMuted = muted;
      room.emit(muted ? RoomEvent.TrackMuted : RoomEvent.TrackUnmuted, publication, participant);
    },

    removeParticipant(identity) {
      const room = currentRoom;
      const participant = room.remoteParticipants.get(identity);
      if (!participant) return;
      for (const publication of participant.getTrackPublications()) {
        room.emit(RoomEvent.TrackUnsubscribed, publication.track, publication, participant);
        participant._remove(publication);
        room.emit(RoomEvent.TrackUnpublished, publication, participant);
      }
      room.remoteParticipants.delete(identity);
      room.emit(RoomEvent.ParticipantDisconnected, participant);
    },

    setSpeakers(identities) {
      const room = currentRoom;
      const speakers = identities.map((id) => room.getParticipantByIdentity(id));
      for (const participant of [room.localParticipant, ...room.remoteParticipants.values()]) {
        participant.isSpeaking = speakers.includes(participant);
      }
      room.activeSpeakers = speakers;
      room.emit(RoomEvent.ActiveSpeakersChanged, speakers);
    },

    // As the server's UpdateParticipant: an empty value deletes the attribute.
    setAttributes(identity, changes) {
      const room = currentRoom;
      const participant = room.getParticipantByIdentity(identity);
      for (const [key, value] of Object.entries(changes)) {
        if (value === "") delete participant._attributes[key];
        else participant._attributes[key] = value;
      }
      room.emit(RoomEvent.ParticipantAttributesChanged, changes, participant);
    },

    setQuality(identity, quality) {
      const room = currentRoom;
      const participant = room.getParticipantByIdentity(identity);
      participant._connectionQuality = quality;
      room.emit(RoomEvent.ConnectionQualityChanged, quality, participant);
    },

    sendText(identity, topic, text, attributes = {}) {
      const room = currentRoom;
      const handler = room._textHandlers.get(topic);
      if (!handler) return false;
      const info = { id: newSid("TS"), mimeType: "text/plain", topic, timestamp: Date.now(), size: text.length, attributes };
      const reader = {
        info,
        readAll: async () => text,
        [Symbol.asyncIterator]: async function* () { yield text; },
      };
      handler(reader, { identity });
      return true;
    },

    sendData(message, identity) {
      const room = currentRoom;
      const payload = new TextEncoder().encode(JSON.stringify(message));
      room.emit(RoomEvent.DataReceived, payload, identity ? room.remoteParticipants.get(identity) : undefined, 0, undefined);
    },

    reconnecting() {
      currentRoom.state = ConnectionState.Reconnecting;
      currentRoom.emit(RoomEvent.ConnectionStateChanged, currentRoom.state);
      currentRoom.emit(RoomEvent.Reconnecting);
    },
    reconnected() {
      currentRoom.state = ConnectionState.Connected;
      currentRoom.emit(RoomEvent.ConnectionStateChanged, currentRoom.state);
      currentRoom.emit(RoomEvent.Reconnected);
    },
    disconnect(reasonName) { currentRoom._end(DisconnectReason[reasonName]); },
  };

  window.__standIn = standIn;
  window.LivekitClient = {
    version: "2.23.0",
    Room,
    RoomEvent,
    ConnectionState,
    ConnectionQuality,
    ConnectionError,
    DisconnectReason,
    Track,
    TrackPublication,
    Participant,
    RemoteParticipant,
    LocalParticipant,
  };
})();
