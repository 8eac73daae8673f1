import net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { Aedes } from 'aedes';
import { loopbackCsms } from './ocpp.js';

/**
 * The station's network peers for the loaded benchmark, in a process of their own so their work
 * does not load the event loop being measured: a loopback CSMS (ocpp-rpc, strict mode) and an
 * MQTT broker (aedes). Run as a child: prints {"csmsPort","mqttPort"}, answers "stats" on stdin
 * with the counts of what it received, exits when stdin closes.
 */
async function main(): Promise<void> {
  const calls: Record<string, number> = {};
  let mqttPublishes = 0;
  const csms = await loopbackCsms((m) => (calls[m] = (calls[m] ?? 0) + 1));
  const broker = await Aedes.createBroker();
  broker.on('publish', (packet, client) => {
    if (client) mqttPublishes++;
    void packet;
  });
  const server = net.createServer((s) => broker.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.send!({ csmsPort: csms.port, mqttPort: (server.address() as net.AddressInfo).port });
  process.on('message', (m) => {
    if (m === 'stats') process.send!({ calls, mqttPublishes });
  });
  process.on('disconnect', () => {
    void csms.close();
    server.close();
    broker.close(() => process.exit(0));
  });
}

export interface Peers {
  csmsPort: number;
  mqttPort: number;
  stats(): Promise<{ calls: Record<string, number>; mqttPublishes: number }>;
  stop(): Promise<void>;
}

export async function spawnPeers(): Promise<Peers> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ports = await new Promise<{ csmsPort: number; mqttPort: number }>((res, rej) => {
    child.once('message', (m) => res(m as { csmsPort: number; mqttPort: number }));
    child.once('exit', (c) => rej(new Error(`bench peers exited ${c}`)));
  });
  return {
    ...ports,
    stats: () =>
      new Promise((res) => {
        child.once('message', (m) => res(m as { calls: Record<string, number>; mqttPublishes: number }));
        child.send('stats');
      }),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await exited;
    },
  };
}

if (process.argv.includes('--child')) void main();
