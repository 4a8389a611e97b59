// Preloaded into server-everything's Streamable HTTP mode (node --import) so that it
// listens on 127.0.0.1 only: its express app calls listen(PORT) without a host.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === "number" || typeof args[0] === "string") && typeof args[1] !== "string") {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
