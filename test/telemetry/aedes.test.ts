import { describe } from 'vitest';
import { AedesBroker } from './helpers.js';
import { brokerSuite } from './suite.js';

describe('MQTT against aedes (in-process broker)', () => {
  brokerSuite((port) => new AedesBroker(port));
});
