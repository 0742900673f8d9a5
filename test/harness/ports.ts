export { freePort, freePorts } from '../../src/start/free-port';
