export { freePort, freePorts } from '../../src/net/free-port';
