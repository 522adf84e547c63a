"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.CreateUsers1700000000000 = void 0;
class CreateUsers1700000000000 {
    async up(queryRunner) { await queryRunner.query(`CREATE TABLE "user" ("id" SERIAL PRIMARY KEY)`); }
    async down(queryRunner) { await queryRunner.query(`DROP TABLE "user"`); }
}
exports.CreateUsers1700000000000 = CreateUsers1700000000000;
