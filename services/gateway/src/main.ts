import { runServiceMain } from '@orderly/platform';
import { gatewayService } from './service.js';

void runServiceMain(gatewayService);
