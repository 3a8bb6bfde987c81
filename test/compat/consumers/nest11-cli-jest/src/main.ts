import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

// Boots, answers one health check over HTTP, prints what it saw as one JSON line, and stops.
async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const response = await fetch(`${await app.getUrl()}/health`);
  const health = await response.json();
  await app.close();
  process.stdout.write(
    `${JSON.stringify({ status: response.status, health, entry: require.resolve('nestjs-audit-alert') })}\n`,
  );
}
bootstrap();
