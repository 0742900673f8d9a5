export { freePort } from '../../src/start/free-port';
