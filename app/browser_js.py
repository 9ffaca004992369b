"""What the Gradio app runs in the browser: the click time and what the visitor waited, and the sketchpad's
brush ready at first touch."""

# In the browser: note the click time, then (after the run) write what the visitor waited into the timing line.
CLICK_JS = """(...args) => {
  window.tddClickedAt = performance.now();
  document.querySelectorAll('.tdd-waited').forEach((span) => { span.textContent = ''; });
  return args;
}"""
SKETCH_CLEAR_JS = """() => {
  document.querySelector('#sketch-TASK button[aria-label="Clear canvas"]')?.click();
}"""
# The sketchpad mounts when its tab opens, and drops its tool when cleared; whenever it shows gradio's
# "select the draw tool to start", pick its brush, so a drag draws at once.
SKETCH_READY_JS = """() => {
  const arm = () => {
    document.querySelectorAll('[id^="sketch-"]').forEach((pad) => {
      const idle = pad.innerText.includes('select the draw tool');
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (idle && brush && !pad.tddArming) {
        pad.tddArming = true;  // one click per idle spell, not one per DOM change
        brush.click();
        setTimeout(() => { pad.tddArming = false; }, 300);
      }
    });
  };
  new MutationObserver(arm).observe(document.body, { childList: true, subtree: true });
  arm();
}"""
WAITED_JS = """(task) => {
  const ms = Math.round(performance.now() - (window.tddClickedAt || performance.now()));
  const span = document.querySelector(`#timing-${task} .tdd-waited`);
  if (span) span.textContent = `you waited ${ms} ms · `;
  return [];
}"""
