from celebface.cli import main

main()
