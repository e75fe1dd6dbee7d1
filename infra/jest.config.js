import { jestConfig } from '../jest.shared.js';
export default jestConfig();
