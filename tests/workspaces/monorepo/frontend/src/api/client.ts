export async function listProducts(): Promise<unknown[]> {
  const response = await fetch("/products/");
  return response.json();
}
