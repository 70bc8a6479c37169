import { runServiceMain } from '@orderly/platform';
import { identityService } from './service.js';

void runServiceMain(identityService);
