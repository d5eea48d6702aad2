// Camera backgrounds with @livekit/track-processors: none, blur, or one of the person's
// own images (fetched from the API; guests get none and blur). On the pre-join page the
// preview shows the effect; the choice is kept for the tab (sessionStorage) and the
// meeting puts it on its camera track whenever one is published, and lets it change in
// the Devices dialog. Where the processor cannot run (no WebGL2, no model) the control
// says so and the camera goes on unprocessed.
//
// The processor (static/vendor/track-processors, copied by the Makefile) is loaded only
// once an effect is chosen; it needs livekit-client's global, loaded here if missing.
const STORAGE_KEY = "meet-background";
const BLUR_RADIUS = 10;
const CHOICE_PATH = "/account/backgrounds/choice";

export function storedChoice() {
  return sessionStorage.getItem(STORAGE_KEY) || "none";
}

function remember(choice) {
  sessionStorage.setItem(STORAGE_KEY, choice);
}

// The library's own tests (BackgroundTransformer.isSupported, ProcessorWrapper.isSupported),
// without loading it.
export function effectsSupported() {
  const canvas = document.createElement("canvas");
  const transformer = typeof OffscreenCanvas !== "undefined" && typeof VideoFrame !== "undefined"
    && typeof createImageBitmap !== "undefined" && Boolean(canvas.getContext("webgl2"));
  const wrapper = (typeof MediaStreamTrackGenerator !== "undefined" && typeof MediaStreamTrackProcessor !== "undefined")
    || (typeof VideoFrame !== "undefined" && "captureStream" in HTMLCanvasElement.prototype);
  return transformer && wrapper;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

let processors = null;
function loadProcessors(vendor) {
  processors ||= (async () => {
    if (!window.LivekitClient) await loadScript(`${vendor}/livekit-client.umd.js`);
    return import(`${vendor}/track-processors/index.mjs`);
  })();
  return processors;
}

// One control (templates/account/_background_choice.jinja2): its select, its status line
// and the settings the page gave it.
class Control {
  constructor(element) {
    this.element = element;
    this.select = element.querySelector("[data-background-select]");
    this.status = element.querySelector("[data-background-status]");
    this.vendor = element.dataset.vendor;
    this.model = element.dataset.model;
  }

  say(key) {
    this.status.textContent = key ? this.element.dataset[key] : "";
  }

  // The person's ready images, as options of their own group.
  async addImages() {
    const url = this.element.dataset.files;
    if (!url) return;
    let images = [];
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) images = (await response.json()).results || [];
    } catch {
      images = [];
    }
    if (images.length === 0) return;
    const group = document.createElement("optgroup");
    group.label = this.element.dataset.imagesLabel;
    for (const image of images) {
      const option = new Option(image.title, `image:${image.id}`);
      option.dataset.url = image.content_url;
      group.append(option);
    }
    this.select.append(group);
  }

  choose(choice) {
    const known = [...this.select.options].some((option) => option.value === choice);
    this.select.value = known ? choice : "none";
    return this.select.value;
  }

  imageUrl(choice) {
    return [...this.select.options].find((option) => option.value === choice)?.dataset.url;
  }

  options(choice) {
    const assetPaths = { tasksVisionFileSet: `${this.vendor}/mediapipe/wasm`, modelAssetPath: this.model };
    if (choice === "blur") return { mode: "background-blur", blurRadius: BLUR_RADIUS, assetPaths };
    return { mode: "virtual-background", imagePath: this.imageUrl(choice), assetPaths };
  }

  async start(track) {
    const { BackgroundProcessor } = await loadProcessors(this.vendor);
    const processor = BackgroundProcessor(this.options(this.select.value));
    await track.setProcessor(processor);
  }

  // Put the chosen effect on a LiveKit LocalVideoTrack (or take it off); on failure
  // the track is left without one and the control says so.
  async apply(track) {
    if (!track) return;
    const choice = this.select.value;
    try {
      const current = track.getProcessor();
      if (choice === "none") {
        await track.stopProcessor();
      } else if (current?.switchTo) {
        await current.switchTo(this.options(choice)); // no gap in the picture
      } else {
        await this.start(track);
      }
      this.say("");
    } catch (error) {
      console.warn("camera background failed", error);
      await track.stopProcessor().catch(() => {});
      this.choose("none");
      remember("none");
      this.say("failed");
    }
  }

  // Ready to use: the stored choice selected, and changes remembered and applied.
  async prepare(onChange) {
    await this.addImages();
    this.element.hidden = false;
    if (!effectsSupported()) {
      this.choose("none");
      this.select.disabled = true;
      this.say("unsupported");
      return false;
    }
    this.choose(storedChoice());
    this.select.addEventListener("change", () => {
      remember(this.select.value);
      onChange();
    });
    return true;
  }
}

// -- the meeting page ----------------------------------------------------------------------

export function createBackgrounds(room, LK) {
  const form = document.querySelector("#settings-dialog .device-form");
  let control = null;
  const cameraTrack = () => room.localParticipant.getTrackPublication(LK.Track.Source.Camera)?.track;

  room.on(LK.RoomEvent.LocalTrackPublished, (publication) => {
    if (publication.source !== LK.Track.Source.Camera) return;
    if (control && control.select.value !== "none") control.apply(publication.track);
  });

  (async () => {
    if (!form) return;
    let html = "";
    try {
      const response = await fetch(CHOICE_PATH, { credentials: "same-origin" });
      if (response.ok) html = await response.text();
    } catch {
      html = "";
    }
    if (!html) return;
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const element = holder.querySelector("[data-background-choice]");
    if (!element) return;
    const styles = document.createElement("link");
    styles.rel = "stylesheet";
    styles.href = `${element.dataset.vendor.replace(/\/vendor$/, "")}/css/backgrounds.css`;
    document.head.append(styles);
    form.querySelector("[data-device-status]").before(element);
    control = new Control(element);
    const usable = await control.prepare(() => control.apply(cameraTrack()));
    if (usable && control.select.value !== "none") control.apply(cameraTrack());
  })();
}

// -- the pre-join page ---------------------------------------------------------------------
// prejoin.js owns the preview's camera stream; this shows it through the effect instead,
// again each time prejoin.js starts a new stream (another camera chosen).

function startPrejoin(element, video) {
  const control = new Control(element);
  const ours = new WeakSet(); // the processed streams this module showed
  let raw = null; // prejoin.js's stream
  let processed = null; // the LiveKit track carrying the effect

  async function show() {
    const previous = processed;
    processed = null;
    if (previous) await previous.stopProcessor().catch(() => {});
    const camera = raw?.getVideoTracks()[0];
    if (!camera || camera.readyState !== "live") return;
    if (control.select.value === "none") {
      if (video.srcObject !== raw) video.srcObject = raw;
      return;
    }
    try {
      await loadProcessors(control.vendor);
      const track = new window.LivekitClient.LocalVideoTrack(camera, undefined, true);
      await control.start(track);
      processed = track;
      const stream = new MediaStream([track.mediaStreamTrack]); // the processed one
      ours.add(stream);
      video.srcObject = stream;
      control.say("");
    } catch (error) {
      console.warn("camera background failed", error);
      control.choose("none");
      remember("none");
      control.say("failed");
      if (video.srcObject !== raw) video.srcObject = raw;
    }
  }

  video.addEventListener("loadstart", () => {
    const stream = video.srcObject;
    if (!stream || ours.has(stream) || stream === raw) return;
    raw = stream;
    show();
  });

  control.prepare(show).then((usable) => {
    if (!usable) return;
    if (video.srcObject && !ours.has(video.srcObject)) raw = video.srcObject;
    if (control.select.value !== "none") show();
  });
}

const prejoinChoice = document.querySelector("[data-prejoin] [data-background-choice]");
if (prejoinChoice) startPrejoin(prejoinChoice, document.getElementById("preview-video"));
