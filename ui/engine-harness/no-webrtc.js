// With `?no-webrtc` in the URL the page looks like Debian's WebKitGTK: no RTCPeerConnection at
// all (the SDK bundle loads after this, as in the app's window).
"use strict";
if (new URLSearchParams(location.search).has("no-webrtc")) {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection"]) delete window[name];
}
