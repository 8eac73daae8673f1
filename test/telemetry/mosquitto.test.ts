import { describe, it } from 'vitest';
import { mosquittoPath, MosquittoBroker } from './helpers.js';
import { brokerSuite } from './suite.js';

const bin = mosquittoPath();

describe('MQTT against mosquitto', () => {
  if (!bin) {
    it('mosquitto not installed: the MQTT suite did not run against mosquitto (aedes only)', () => {
      console.warn('mosquitto not installed: the MQTT suite did not run against mosquitto (apt-get install mosquitto)');
    });
    return;
  }
  brokerSuite((port, dir) => new MosquittoBroker(port, bin, dir));
});
