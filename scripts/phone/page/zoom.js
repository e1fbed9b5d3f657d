// Zoom and pan for a diagram drawn by Mermaid: the wheel zooms around the pointer, dragging pans,
// and the +, − and "fit" buttons above the diagram do the same from the keyboard or a click. It
// moves the SVG's viewBox (so text stays sharp); `svg.dataset.zoom` says the scale (1: all of it).

/** Makes the diagram in `holder` zoomable; `buttons` is where its +, − and fit buttons go. */
export function zoomable(holder, buttons) {
  const svg = holder.querySelector("svg");
  if (!svg) return;
  const box = svg.viewBox.baseVal;
  if (!box || box.width === 0) return;
  const all = { x: box.x, y: box.y, w: box.width, h: box.height };
  let view = { ...all };
  // The diagram fills its frame; the viewBox decides what of it shows.
  svg.removeAttribute("style");
  svg.setAttribute("width", "100%");
  svg.setAttribute("height", "100%");
  holder.classList.add("zoomable");

  const apply = () => {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    svg.dataset.zoom = (all.w / view.w).toFixed(2);
  };
  /** Zooms by `factor` around the point at (fx, fy), fractions of the frame. */
  const zoom = (factor, fx = 0.5, fy = 0.5) => {
    const w = Math.min(all.w * 2, Math.max(all.w / 20, view.w / factor));
    const h = (w * view.h) / view.w;
    view = { x: view.x + (view.w - w) * fx, y: view.y + (view.h - h) * fy, w, h };
    apply();
  };
  const fit = () => {
    view = { ...all };
    apply();
  };

  svg.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.25 : 0.8, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    },
    { passive: false },
  );
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, view: { ...view } };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    view = { ...drag.view, x: drag.view.x - ((e.clientX - drag.x) * view.w) / r.width, y: drag.view.y - ((e.clientY - drag.y) * view.h) / r.height };
    apply();
  });
  const stop = () => {
    drag = null;
  };
  svg.addEventListener("pointerup", stop);
  svg.addEventListener("pointercancel", stop);

  const button = (text, label, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = label;
    b.setAttribute("aria-label", label);
    b.dataset.zoom = label;
    b.addEventListener("click", onClick);
    return b;
  };
  buttons.replaceChildren(
    button("+", "zoom in", () => zoom(1.25)),
    button("−", "zoom out", () => zoom(0.8)),
    button("fit", "fit", fit),
  );
  apply();
}
