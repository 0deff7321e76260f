// Records a drive with the browser's Geolocation API (watchPosition). Every kept fix is written to
// IndexedDB at once, so a reload, a crash or a locked phone mid-trip loses nothing: the page finds the
// recording again and carries on. The trace goes to the API only when the driver ends the trip.
import { createStore, del, get, set } from "idb-keyval";
import { haversine, round6 } from "./geo.js";

const store = createStore("coopride-trips", "recording");
// A fix is kept when the car moved this far, or this long passed, since the last kept fix; timestamps are
// whole seconds and strictly increasing, as the backend's trace check requires.
const KEEP_AFTER_METRES = 15;
const KEEP_AFTER_SECONDS = 5;
const MAX_FIXES = 20_000;

export async function pendingRecording() {
  return (await get("current", store)) || null;
}

export class Recorder {
  constructor({ onUpdate, onError }) {
    this.onUpdate = onUpdate;
    this.onError = onError;
    this.state = null;
    this.watchId = null;
    this.speedKmh = null;
    this.saving = Promise.resolve();
  }

  /** `requestId` is the booked ride, or null for solo movement. */
  async start({ requestId, driver, label }) {
    this.state = { requestId, driver, label, startedAt: Date.now(), fixes: [], metres: 0 };
    await set("current", this.state, store);
    this.watch();
  }

  resume(state) {
    this.state = state;
    this.watch();
  }

  watch() {
    if (!navigator.geolocation) {
      this.onError(new Error("geolocation"));
      return;
    }
    this.watchId = navigator.geolocation.watchPosition(
      (position) => this.add(position),
      (error) => this.onError(error),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 60_000 },
    );
    this.onUpdate(this.stats());
  }

  add(position) {
    const fix = { t: Math.floor(position.timestamp / 1000), lat: round6(position.coords.latitude), lon: round6(position.coords.longitude) };
    const fixes = this.state.fixes;
    const last = fixes[fixes.length - 1];
    if (last && fix.t <= last.t) return;
    const metres = last ? haversine(last, fix) : 0;
    if (last && metres < KEEP_AFTER_METRES && fix.t - last.t < KEEP_AFTER_SECONDS) return;
    if (fixes.length >= MAX_FIXES) return;
    fixes.push(fix);
    this.state.metres += metres;
    const speed = position.coords.speed;
    this.speedKmh = speed !== null && speed !== undefined && !Number.isNaN(speed) ? speed * 3.6 : last ? (metres / (fix.t - last.t)) * 3.6 : 0;
    const snapshot = { ...this.state, fixes: [...fixes] };
    this.saving = this.saving.then(() => set("current", snapshot, store));
    this.onUpdate(this.stats());
  }

  stats() {
    const fixes = this.state ? this.state.fixes : [];
    return {
      fixes: fixes.length,
      metres: this.state ? this.state.metres : 0,
      speedKmh: this.speedKmh,
      seconds: fixes.length > 1 ? fixes[fixes.length - 1].t - fixes[0].t : 0,
      last: fixes[fixes.length - 1] || null,
    };
  }

  /** Stops watching; the recording stays stored until `discard()` (after the API accepted it). */
  async stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    await this.saving;
    return this.state;
  }

  async discard() {
    await this.stop();
    this.state = null;
    await del("current", store);
  }
}
