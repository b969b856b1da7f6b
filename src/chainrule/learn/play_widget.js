// The anywidget front end of chainrule.learn.Play.widget(): the page in a sandboxed
// iframe; what the page computes (its trace, after every edit or training step) is
// sent back to Python as the widget's "trace".
function render({ model, el }) {
  const frame = document.createElement("iframe");
  frame.title = "chainrule play";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.cssText = "width:100%;border:1px solid #ddd;height:" + model.get("height") + "px";
  frame.srcdoc = model.get("html");
  const onMessage = (event) => {
    const data = event.data;
    if (event.source !== frame.contentWindow || !data || data.source !== "chainrule-play") return;
    model.set("trace", data.trace);
    model.save_changes();
  };
  window.addEventListener("message", onMessage);
  model.on("change:html", () => { frame.srcdoc = model.get("html"); });
  el.appendChild(frame);
  return () => window.removeEventListener("message", onMessage);
}
export default { render };
