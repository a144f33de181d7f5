// A minimal stand-in for the anywidget model (the AnyModel interface): traits, change events,
// custom messages. It records what the canvas sends so tests can check what "Python" received.
export class StubModel {
  constructor(state) {
    this.state = structuredClone(state);
    this.handlers = new Map();
    this.pending = {};
    this.saved = []; // one entry per save_changes(): the traits the canvas assigned
    this.sent = []; // custom messages sent by the canvas
    this.widget_manager = { get_model: async () => this };
  }
  get(key) {
    return this.state[key];
  }
  set(key, value) {
    this.state[key] = value;
    this.pending[key] = value;
    this.emit(`change:${key}`);
  }
  on(event, cb) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(cb);
  }
  off(event, cb) {
    if (!event) this.handlers.clear();
    else if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }
  save_changes() {
    this.saved.push(structuredClone(this.pending));
    this.pending = {};
  }
  send(content) {
    this.sent.push(structuredClone(content));
  }
  emit(event, ...args) {
    for (const cb of [...(this.handlers.get(event) ?? [])]) cb(...args);
  }
  // --- as if from Python
  fromPython(key, value) {
    this.state[key] = structuredClone(value);
    this.emit(`change:${key}`);
  }
  message(content) {
    this.emit("msg:custom", structuredClone(content), []);
  }
  lastGraph() {
    for (let i = this.saved.length - 1; i >= 0; i--) if (this.saved[i].graph) return this.saved[i].graph;
    return null;
  }
}
