// Drives the real @telnyx/webrtc bundle (global TelnyxWebRTC) for the conformance suite.
// Every SDK event is recorded in window.harness.events; the Rust test reads them through WebDriver.
"use strict";
window.harness = (() => {
  const events = [];
  let client = null;
  const calls = new Map(); // call id -> latest SDK Call object
  const record = (type, detail) => events.push({ type, at: Date.now(), ...detail });

  function callSummary(call) {
    return {
      id: call.id,
      state: call.state,
      direction: call.direction,
      cause: call.cause || null,
      causeCode: call.causeCode || null,
      sipCode: call.sipCode || null,
      remoteNumber: (call.options && call.options.remoteCallerNumber) || null,
    };
  }

  function connect({ host, loginToken, login, password }) {
    const options = { host, iceServers: [] };
    if (loginToken) options.login_token = loginToken;
    if (login) { options.login = login; options.password = password; }
    client = new TelnyxWebRTC.TelnyxRTC(options);
    client.remoteElement = "remote-audio";
    client.on("telnyx.ready", () => record("ready", {}));
    client.on("telnyx.error", (error) => {
      const inner = (error && error.error) || error || {};
      record("error", { code: inner.code || null, name: inner.name || null, message: String(inner.message || "") });
    });
    client.on("telnyx.socket.close", (e) => record("socket.close", { code: (e && e.code) || null }));
    client.on("telnyx.notification", (notification) => {
      if (notification.type === "callUpdate" && notification.call) {
        calls.set(notification.call.id, notification.call);
        record("callUpdate", callSummary(notification.call));
      } else {
        record("notification", { notificationType: notification.type });
      }
    });
    client.connect();
  }

  function call(id) {
    const found = id ? calls.get(id) : Array.from(calls.values()).pop();
    if (!found) throw new Error("no call " + id);
    return found;
  }

  function dial(destinationNumber, extra) {
    const options = { destinationNumber, callerNumber: "+15550000000", audio: true, video: false };
    const created = client.newCall(Object.assign(options, extra || {}));
    calls.set(created.id, created);
    return created.id;
  }

  // Level and dominant frequency of what the call's remote stream plays, over ~300 ms.
  async function measureRemoteAudio(id) {
    const stream = call(id).remoteStream;
    if (!stream) return { levelDbfs: -200, dominantHz: null };
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    source.connect(analyser);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(spectrum);
    const samples = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(samples);
    let best = 0;
    for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[best]) best = i;
    const rms = Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);
    await context.close();
    return {
      levelDbfs: rms > 0 ? 20 * Math.log10(rms) : -200,
      dominantHz: (best * context.sampleRate) / analyser.fftSize,
    };
  }

  async function inboundBytes(id) {
    const peer = call(id).peer;
    const connection = peer && (peer.instance || peer._instance);
    if (!connection) return 0;
    const report = await connection.getStats();
    let bytes = 0;
    report.forEach((stat) => { if (stat.type === "inbound-rtp" && stat.kind === "audio") bytes += stat.bytesReceived; });
    return bytes;
  }

  return {
    events,
    connect,
    dial,
    answer: (id) => call(id).answer(),
    hangup: (id) => call(id).hangup(),
    hold: (id) => call(id).hold(),
    unhold: (id) => call(id).unhold(),
    dtmf: (id, digits) => call(id).dtmf(digits),
    state: (id) => callSummary(call(id)),
    measureRemoteAudio,
    inboundBytes,
    disconnect: () => client && client.disconnect(),
  };
})();
