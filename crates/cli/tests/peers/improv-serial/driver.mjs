// Provisions a wifiprov device through improv-wifi-serial-sdk's ImprovSerial.
//
// The SDK talks to a Web Serial port: an object with a ReadableStream and a WritableStream.
// This shim gives it one over a TCP connection to the test, which relays the bytes to the
// pseudo-terminal the device has open.
//
// Usage: node --import ./register.mjs driver.mjs HOST:PORT SSID WRONG_PASSPHRASE PASSPHRASE
// Prints one JSON object with what each step returned or the error it raised.
import net from "node:net";
import { ImprovSerial } from "improv-wifi-serial-sdk/dist/serial.js";

const [address, ssid, wrong, right] = process.argv.slice(2);
const [host, port] = address.split(":");

function serialPort(socket) {
  return {
    readable: new ReadableStream({
      start(controller) {
        socket.on("data", (data) => controller.enqueue(new Uint8Array(data)));
        socket.on("end", () => controller.close());
        socket.on("error", (error) => controller.error(error));
      },
      cancel() {
        socket.destroy();
      },
    }),
    writable: new WritableStream({
      write(chunk) {
        return new Promise((resolve) => socket.write(Buffer.from(chunk), resolve));
      },
    }),
  };
}

const logger = {
  log: (...args) => console.error("sdk:", ...args),
  error: (...args) => console.error("sdk error:", ...args),
  debug: () => {},
};

async function step(report, name, run) {
  try {
    report[name] = { ok: await run() };
  } catch (error) {
    report[name] = { error: String(error) };
  }
}

const socket = net.connect(Number(port), host);
await new Promise((resolve, reject) => {
  socket.once("connect", resolve);
  socket.once("error", reject);
});
const improv = new ImprovSerial(serialPort(socket), logger);
const report = {};
await step(report, "initialize", async () => ({ ...(await improv.initialize(5000)) }));
report.stateAfterInit = improv.state;
await step(report, "scan", () => improv.scan(20000));
await step(report, "hostname", () => improv.getHostname(5000));
await step(report, "setDeviceName", () => improv.setDeviceName("Kitchen Pi", 5000));
await step(report, "networkStateBefore", () => improv.requestNetworkState(5000));
await step(report, "wrongPassphrase", () => improv.provision(ssid, wrong, 60000));
report.errorAfterWrong = improv.error;
report.stateAfterWrong = improv.state;
await step(report, "provision", async () => {
  await improv.provision(ssid, right, 60000);
  return true;
});
report.stateAfterProvision = improv.state;
report.nextUrl = improv.nextUrl ?? null;
await step(report, "currentState", () => improv.requestCurrentState(5000));
report.urlFromState = improv.nextUrl ?? null;
console.log(JSON.stringify(report));
socket.destroy();
process.exit(0);
