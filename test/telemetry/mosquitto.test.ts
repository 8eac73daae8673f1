import { describe } from 'vitest';
import { mosquittoPath, MosquittoBroker } from './helpers.js';
import { brokerSuite } from './suite.js';

const bin = mosquittoPath();

if (!bin) console.log('SKIPPED: mosquitto not installed: the MQTT suite did not run against mosquitto, only against aedes (apt-get install mosquitto)');

describe.skipIf(!bin)('MQTT against mosquitto', () => {
  brokerSuite((port, dir) => new MosquittoBroker(port, bin!, dir));
});
