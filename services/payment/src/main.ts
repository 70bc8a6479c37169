import { runServiceMain } from '@orderly/platform';
import { paymentService } from './service.js';

void runServiceMain(paymentService);
