import { runServiceMain } from '@orderly/platform';
import { riskService } from './service.js';

void runServiceMain(riskService);
