// Fills in the table of what the page loaded (the Resource Timing API) and says when the page is
// complete: its web font loaded and its video playable. window.siteReady resolves then, for the
// end-to-end browser test (tests/e2e/browser_test.py); a person just sees the state line change.
"use strict";

function whenVideoPlayable(video) {
  if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve();
  return new Promise((resolve, reject) => {
    video.addEventListener("loadeddata", () => resolve(), { once: true });
    video.addEventListener("error", () => reject(new Error("the video failed to load")), { once: true });
  });
}

function listResources() {
  const body = document.querySelector("#resources tbody");
  body.replaceChildren();
  const entries = [performance.getEntriesByType("navigation")[0],
                   ...performance.getEntriesByType("resource")];
  for (const e of entries) {
    if (!e) continue;
    const row = body.insertRow();
    row.insertCell().textContent = new URL(e.name).pathname;
    row.insertCell().textContent = e.initiatorType;
    row.insertCell().textContent = e.transferSize || e.encodedBodySize || 0;
  }
  return entries.length;
}

window.siteReady = (async () => {
  const state = document.getElementById("state");
  try {
    await document.fonts.load('600 1em "Portico Sans"');
    await whenVideoPlayable(document.getElementById("clip"));
    const n = listResources();
    state.textContent = `complete: ${n} resources, font and video loaded`;
    return n;
  } catch (err) {
    state.textContent = `incomplete: ${err.message}`;
    throw err;
  }
})();
