/** @type {import('next').NextConfig} */
export default {
  // Herald runs as the package it is (its dashboard files, its lazy Redis modules), not bundled.
  serverExternalPackages: ['herald'],
};
