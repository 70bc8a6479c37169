import { runServiceMain } from '@orderly/platform';
import { orderService } from './service.js';

void runServiceMain(orderService);
