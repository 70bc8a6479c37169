import { runServiceMain } from '@orderly/platform';
import { inventoryService } from './service.js';

void runServiceMain(inventoryService);
