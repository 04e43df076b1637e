// Placeholder shell until the desktop UI lands (issue "Desktop UI"); the CLI is the interface today.
export function App(): React.JSX.Element {
  return (
    <main>
      <h1>Mooring</h1>
      <p>The desktop UI is not built yet. Use the CLI: npx mooring --help</p>
    </main>
  );
}
