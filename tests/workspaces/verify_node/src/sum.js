"use strict";

/**
 * @param {number} a
 * @param {number} b
 * @returns {number}
 */
function sum(a, b) {
  return a + b;
}

/** @type {number} */
const answer = sum(40, 2);

module.exports = { sum, answer };
